/**
 * A fake Slack Web API on 127.0.0.1: records every call, answers like Slack (increasing ts,
 * Block Kit limits, 429 with Retry-After on demand), and stands in for response_url.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback.js';

export interface SlackCall {
  method: string;
  args: Record<string, any>;
  at: number;
  /** What the fake answered. */
  response?: Record<string, any>;
}

type Failure = { rateLimitedSeconds: number } | { error: string };
type Waiter = { predicate: (call: SlackCall) => boolean; resolve: (call: SlackCall) => void };

const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'];

export class FakeSlack extends LoopbackServer {
  readonly calls: SlackCall[] = [];
  private tsCounter = 0;
  private viewCounter = 0;
  private failures = new Map<string, Failure[]>();
  private matchers: { method: string; matches: (args: Record<string, any>) => boolean; failure: Failure; left: number }[] = [];
  private waiters: Waiter[] = [];

  constructor(private readonly options: { botUserId?: string; teamId?: string } = {}) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(id)}`;
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Fails the next `count` calls of `method` whose arguments match, leaving the others alone. */
  failMatching(method: string, matches: (args: Record<string, any>) => boolean, failure: Failure, count = 1): void {
    this.matchers.push({ method, matches, failure, left: count });
  }

  failNext(method: string, failure: Failure, count = 1): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(method, list);
  }

  waitFor(predicate: (call: SlackCall) => boolean, timeoutMs = 10_000): Promise<SlackCall> {
    const found = this.calls.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { predicate, resolve: (c) => (clearTimeout(timer), resolve(c)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`FakeSlack: no matching call within ${timeoutMs} ms; seen: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  reset(): void {
    this.calls.length = 0;
    this.failures.clear();
    this.matchers = [];
  }

  private record(call: SlackCall): void {
    this.calls.push(call);
    for (const w of [...this.waiters]) {
      if (w.predicate(call)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(call);
      }
    }
  }

  private nextTs(): string {
    // 1700000000.000100, .000200, … rolling into the next second after .999900, so every ts is
    // unique and strictly increasing both as a number and as a fixed-width string.
    this.tsCounter += 1;
    const seconds = 1_700_000_000 + Math.floor(this.tsCounter / 10_000);
    return `${seconds}.${String((this.tsCounter % 10_000) * 100).padStart(6, '0')}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;

    if (path.startsWith('/response/')) {
      const parsed = safeParse(raw);
      const body = isObject(parsed) ? parsed : {};
      const call: SlackCall = { method: 'response_url', args: { ...body, _responseId: decodeURIComponent(path.slice('/response/'.length)) }, at: Date.now() };
      call.response = { ok: true };
      this.record(call);
      return send(res, 200, { ok: true });
    }
    if (!path.startsWith('/api/')) return send(res, 404, { ok: false, error: 'unknown_path' });

    const method = path.slice('/api/'.length);
    const args = parseArgs(raw, String(req.headers['content-type'] ?? ''));
    const auth = String(req.headers.authorization ?? '');
    if (auth.startsWith('Bearer ')) args._auth = auth.slice(7);
    const call: SlackCall = { method, args, at: Date.now() };

    const matcher = this.matchers.find((m) => m.method === method && m.left > 0 && m.matches(args));
    if (matcher) matcher.left -= 1;
    const failure = matcher?.failure ?? this.failures.get(method)?.shift();
    if (failure) {
      if ('rateLimitedSeconds' in failure) {
        call.response = { ok: false, error: 'ratelimited' };
        this.record(call);
        res.setHeader('Retry-After', String(failure.rateLimitedSeconds));
        return send(res, 429, call.response);
      }
      call.response = { ok: false, error: failure.error };
      this.record(call);
      return send(res, 200, call.response);
    }

    const response = this.answer(method, args);
    call.response = response;
    this.record(call);
    send(res, 200, response);
  }

  private answer(method: string, args: Record<string, any>): Record<string, any> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'orchestrate', team_id: this.options.teamId ?? 'T1', user_id: this.options.botUserId ?? 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage':
      case 'chat.update': {
        const invalid = messageError(args);
        if (invalid) return { ok: false, error: invalid };
        if (method === 'chat.update') {
          const ts = String(args.ts);
          return { ok: true, channel: args.channel, ts, text: args.text ?? '', message: { text: args.text ?? '', blocks: args.blocks } };
        }
        const ts = this.nextTs();
        return { ok: true, channel: args.channel, ts, message: { type: 'message', user: this.options.botUserId ?? 'UBOT', bot_id: 'BBOT', ts, text: args.text ?? '', blocks: args.blocks } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open':
      case 'views.update':
      case 'views.push': {
        const view: Record<string, any> | null = args.view && typeof args.view === 'object' ? args.view : null;
        if (!view) return { ok: false, error: 'invalid_arguments' };
        if ((view.blocks?.length ?? 0) > 100 || String(view.title?.text ?? '').length > 24 || String(view.private_metadata ?? '').length > 3000) {
          return { ok: false, error: 'invalid_arguments' };
        }
        // views.update keeps the id of the view it updates, like Slack; new views get the next id.
        const id = method === 'views.update' && typeof args.view_id === 'string' ? args.view_id : `V${++this.viewCounter}`;
        return { ok: true, view: { id, team_id: this.options.teamId ?? 'T1', ...view } };
      }
      case 'conversations.info':
      case 'conversations.join':
        return {
          ok: true,
          channel: { id: args.channel, name: 'general', is_channel: true, is_private: false, is_archived: false, is_member: true, context_team_id: this.options.teamId ?? 'T1' },
        };
      default:
        return { ok: true };
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function safeParse(raw: string): any {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseArgs(raw: string, contentType: string): Record<string, any> {
  let args: Record<string, any>;
  if (contentType.includes('application/json')) {
    const parsed = safeParse(raw);
    args = isObject(parsed) ? parsed : {};
  } else {
    // Form fields are all strings: booleans arrive as "true"/"false", numbers as digits.
    args = Object.fromEntries(new URLSearchParams(raw));
  }
  for (const field of JSON_FIELDS) {
    if (typeof args[field] === 'string') args[field] = safeParse(args[field]) ?? args[field];
  }
  return args;
}

/** The Block Kit limits Slack enforces on messages, which no builder library checks. */
function messageError(args: Record<string, any>): string | null {
  const blocks: any[] | undefined = Array.isArray(args.blocks) ? args.blocks : undefined;
  const attachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (!args.text && !blocks?.length && !attachments) return 'no_text';
  if (!blocks) return null;
  if (blocks.length > 50) return 'invalid_blocks';
  let total = 0;
  for (const b of blocks) {
    if (!b || typeof b !== 'object' || typeof b.type !== 'string') return 'invalid_blocks';
    const text = typeof b.text === 'string' ? b.text : (b.text?.text ?? '');
    total += text.length;
    if (b.type === 'section' && text.length > 3000) return 'invalid_blocks';
    if (b.type === 'header' && text.length > 150) return 'invalid_blocks';
    if (b.type === 'markdown' && text.length > 12000) return 'invalid_blocks';
    if (String(b.block_id ?? '').length > 255) return 'invalid_blocks';
    const elements: any[] = [...(b.type === 'actions' && Array.isArray(b.elements) ? b.elements : []), ...(b.accessory ? [b.accessory] : []), ...(b.element ? [b.element] : [])];
    for (const el of elements) {
      if (String(el?.action_id ?? '').length > 255) return 'invalid_blocks';
      if (el?.type !== 'button') continue;
      if (String(el.text?.text ?? '').length > 75 || String(el.value ?? '').length > 2000) return 'invalid_blocks';
    }
    if (b.type === 'context' && Array.isArray(b.elements)) for (const e of b.elements) total += String(e?.text ?? '').length;
  }
  // Slack refuses messages whose block text adds up past roughly 12k characters.
  return total > 12000 ? 'msg_blocks_too_long' : null;
}
