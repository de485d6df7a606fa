/**
 * A fake Slack Web API on 127.0.0.1: records every call, answers like Slack (increasing ts,
 * Block Kit limits, 429 with Retry-After on demand), and stands in for response_url.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  private server: Server | null = null;
  private port = 0;
  private tsCounter = 0;
  private viewCounter = 0;
  private failures = new Map<string, Failure[]>();
  private waiters: Waiter[] = [];

  constructor(private readonly options: { botUserId?: string; teamId?: string } = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(id)}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
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
    this.tsCounter += 1;
    return `1700000000.${String(this.tsCounter * 100).padStart(6, '0')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;

    if (path.startsWith('/response/')) {
      const body = safeParse(raw) ?? {};
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

    const pending = this.failures.get(method);
    const failure = pending?.shift();
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
        const ts = method === 'chat.postMessage' ? this.nextTs() : String(args.ts);
        return { ok: true, channel: args.channel, ts, message: { ts, text: args.text, blocks: args.blocks } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open':
      case 'views.update':
      case 'views.push': {
        const view = args.view ?? {};
        if ((view.blocks?.length ?? 0) > 100 || (view.title?.text?.length ?? 0) > 24 || (view.private_metadata?.length ?? 0) > 3000) {
          return { ok: false, error: 'invalid_arguments' };
        }
        return { ok: true, view: { id: `V${++this.viewCounter}`, ...view } };
      }
      case 'conversations.info':
      case 'conversations.join':
        return { ok: true, channel: { id: args.channel, name: 'general', is_member: true } };
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

function parseArgs(raw: string, contentType: string): Record<string, any> {
  const args: Record<string, any> = contentType.includes('application/json')
    ? (safeParse(raw) ?? {})
    : Object.fromEntries(new URLSearchParams(raw));
  for (const field of JSON_FIELDS) {
    if (typeof args[field] === 'string') args[field] = safeParse(args[field]) ?? args[field];
  }
  return args;
}

/** The Block Kit limits Slack enforces on messages, which no builder library checks. */
function messageError(args: Record<string, any>): string | null {
  const blocks: any[] | undefined = Array.isArray(args.blocks) ? args.blocks : undefined;
  if (!args.text && !blocks?.length) return 'no_text';
  if (!blocks) return null;
  if (blocks.length > 50) return 'invalid_blocks';
  let total = 0;
  for (const b of blocks) {
    const text = typeof b.text === 'string' ? b.text : (b.text?.text ?? '');
    total += text.length;
    if (b.type === 'section' && text.length > 3000) return 'invalid_blocks';
    if (b.type === 'header' && text.length > 150) return 'invalid_blocks';
    if (b.type === 'markdown' && text.length > 12000) return 'invalid_blocks';
    if ((b.block_id ?? '').length > 255) return 'invalid_blocks';
    for (const el of [...(b.type === 'actions' ? b.elements : []), ...(b.accessory ? [b.accessory] : [])]) {
      if (el.type !== 'button') continue;
      if ((el.text?.text ?? '').length > 75 || (el.action_id ?? '').length > 255 || (el.value ?? '').length > 2000) return 'invalid_blocks';
    }
    if (b.type === 'context') for (const e of b.elements ?? []) total += (e.text ?? '').length;
  }
  return total > 12000 ? 'msg_blocks_too_long' : null;
}
