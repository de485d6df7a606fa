/**
 * A fake Slack Web API on 127.0.0.1: records every call and answers like Slack (increasing ts,
 * Block Kit limits, 429 with Retry-After on demand), and stands in for response_url and for the
 * files upload URL. It keeps what Slack keeps (messages per channel, streams, canvases, uploaded
 * files, Home tabs) so tests can check what a user would see, and on demand misbehaves like Slack:
 * per-channel rate limits, seeded chaos, an answer lost after the post landed. Files a test
 * registers (as if a person uploaded them) are described by files.info and served at a private
 * download URL that wants the bot token as a Bearer, as Slack's does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeSlackInstalls } from './fakeSlackInstalls.js';
import { LoopbackServer } from './loopback.js';
import { blocksError, chunksError, messageError, metadataError, viewError } from './slackRules.js';

export interface SlackCall {
  method: string;
  args: Record<string, any>;
  at: number;
  /** What the fake answered. */
  response?: Record<string, any>;
  /** The HTTP status answered (200 unless a fault was injected). */
  status?: number;
  /** The fake did the work, then closed the connection without answering (see dropAfterStoreNext). */
  dropped?: boolean;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, any>;
}

/** A message as Slack holds it; `message()` and `threadReplies()` return copies of these. */
export interface StoredMessage {
  type: 'message';
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: any[];
  metadata?: MessageMetadata;
  user: string;
  bot_id: string;
  reply_broadcast?: boolean;
  /** Ids of the files shared by files.completeUploadExternal. */
  files?: string[];
  reactions?: string[];
  /** Streamed messages only: every chunk in order, and whether the stream still takes appends. */
  chunks?: any[];
  streaming_state?: 'in_progress' | 'completed';
}

export interface UploadedFile {
  id: string;
  filename: string;
  title?: string;
  bytes: Buffer;
  /** Set by files.completeUploadExternal: until then Slack has the bytes but shows the file nowhere. */
  completed: boolean;
  channelId?: string;
  threadTs?: string;
  initialComment?: string;
}

/** A file as a person's upload leaves it in Slack, for files.info and the private download URL. */
export interface SharedFileSpec {
  name: string;
  bytes: Buffer | Uint8Array | string;
  /** text/plain unless said. */
  mimetype?: string;
  /** Slack's short type ("text", "markdown", "csv", "pdf"); from the extension unless said. */
  filetype?: string;
  /** The size files.info reports; the bytes' length unless said (to claim a size the bytes do not have). */
  size?: number;
  /** A link to a file kept elsewhere (Google Drive and the like): Slack has no bytes for it. */
  external?: boolean;
  download?: {
    /** The download answers this status even with the right token (e.g. 404 once deleted). */
    status?: number;
    /** Redirects through this many hops on the fake's own host before the bytes. */
    redirects?: number;
    /** Redirects to this URL instead of serving the bytes. */
    redirectTo?: string;
    /** The Content-Type served; the mimetype unless said (text/html mimics Slack's sign-in page). */
    contentType?: string;
  };
}

/** What files.info answers for a registered file, and what a file_input submission lists. */
export interface SharedFileObject {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  size: number;
  mode: string;
  is_external: boolean;
  url_private: string;
  url_private_download: string;
}

export interface StoredCanvas {
  id: string;
  /** `channel` for conversations.canvases.create, `standalone` for canvases.create. */
  kind: 'channel' | 'standalone';
  channelId?: string;
  title?: string;
  markdown: string;
}

export interface ChaosOptions {
  /** Every Nth call of `methods` answers 429. */
  rateLimitEvery?: number;
  /** Retry-After of those 429s; 1 by default. */
  retryAfterSeconds?: number;
  /** The share of calls of `methods` that answer HTTP 500, drawn from a generator seeded with `seed`. */
  serverErrorRatio?: number;
  seed?: number;
  /** chat.postMessage and chat.update by default. */
  methods?: string[];
}

type Failure = { rateLimitedSeconds: number } | { error: string };
/** Failure plus what only the fault modes produce: an HTTP 500. */
type Fault = Failure | { serverError: true };
type Waiter = { predicate: (call: SlackCall) => boolean; resolve: (call: SlackCall) => void };
type Answer = Record<string, any>;
type FileRecord = Omit<Partial<UploadedFile>, 'bytes'> & { id: string; filename: string; bytes: Buffer | null };

// Fields the WebClient JSON-encodes when it sends a form.
const JSON_FIELDS = [
  'blocks',
  'attachments',
  'view',
  'metadata',
  'chunks',
  'files',
  'document_content',
  'loading_messages',
];
const BOT_ID = 'BBOT';

export class FakeSlack extends LoopbackServer {
  readonly calls: SlackCall[] = [];
  private tsCounter = 0;
  private viewCounter = 0;
  private idCounter = 0;
  private failures = new Map<string, Failure[]>();
  private delays = new Map<string, number[]>();
  private matchers: {
    method: string;
    matches: (args: Record<string, any>) => boolean;
    failure: Failure;
    left: number;
  }[] = [];
  private waiters: Waiter[] = [];

  // What Slack keeps. reset() leaves it alone: the app may still update a message posted before.
  private messages = new Map<string, StoredMessage[]>();
  private streamStarts = new Map<string, number>();
  private canvases = new Map<string, StoredCanvas>();
  private files = new Map<string, FileRecord>();
  private homeViews = new Map<string, Record<string, any>>();
  private statuses = new Map<string, { status: string; loading_messages?: string[] }>();
  private reacted = new Set<string>();
  private sharedFiles = new Map<string, { spec: SharedFileSpec; bytes: Buffer }>();

  // Opt-in misbehaviour, all cleared by reset().
  private channelRate: { perSecond: number; burst: number; methods: Set<string> } | null = null;
  private buckets = new Map<string, { tokens: number; at: number }>();
  private chaosState: {
    every: number;
    retryAfter: number;
    ratio: number;
    methods: Set<string>;
    count: number;
    random: () => number;
  } | null = null;
  private drops = new Map<string, number>();
  private refusedTypes = new Set<string>();
  private streamingRefusal: string | null = null;
  private canvasRefusal: string | null = null;
  private streamLifetime: number | null = null;
  /** Slack's OAuth side: installs granted, their tokens (fakeSlackInstalls.ts). */
  readonly installs = new FakeSlackInstalls();
  /** Slack's Socket Mode side (fakeSocketMode.ts); without it apps.connections.open is answered like any method. */
  private socketMode: { open(args: Record<string, any>): Answer } | null = null;

  /** `botToken` is the token registered files are served to (xoxb-test unless said). */
  constructor(private readonly options: { botUserId?: string; teamId?: string; botToken?: string } = {}) {
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

  /** Answers the next `count` calls of `method` only after `ms`, as a slow Slack would. */
  delayNext(method: string, ms: number, count = 1): void {
    this.delays.set(method, [...(this.delays.get(method) ?? []), ...Array<number>(count).fill(ms)]);
  }

  failNext(method: string, failure: Failure, count = 1): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(method, list);
  }

  /**
   * Slack's per-channel posting limit (about one message a second): chat.postMessage and chat.update
   * to one channel beyond `perSecond`, after a burst of `burst` (1), answer 429. `methods` narrows
   * the limited methods (Slack documents the limit for posts; chat.update is Tier 3, per workspace).
   * `null` turns it off.
   */
  enforceChannelRate(limit: { perSecond: number; burst?: number; methods?: string[] } | null): void {
    this.channelRate = limit && {
      perSecond: limit.perSecond,
      burst: Math.max(1, limit.burst ?? 1),
      methods: new Set(limit.methods ?? ['chat.postMessage', 'chat.update']),
    };
    this.buckets.clear();
  }

  /** How many calls the fake answered with 429, whatever the cause. */
  rateLimitedCount(): number {
    return this.calls.filter((c) => c.status === 429).length;
  }

  /** Seeded, repeatable faults: the same options and calls give the same 429s and 500s. `null` turns it off. */
  chaos(options: ChaosOptions | null): void {
    if (!options) {
      this.chaosState = null;
      return;
    }
    this.chaosState = {
      every: options.rateLimitEvery ?? 0,
      retryAfter: Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1)),
      ratio: options.serverErrorRatio ?? 0,
      methods: new Set(options.methods ?? ['chat.postMessage', 'chat.update']),
      count: 0,
      random: mulberry32(options.seed ?? 1),
    };
  }

  /**
   * The next `count` calls of `method` take effect (a post is stored) but the connection is destroyed
   * instead of answered: Slack took the post and the app never heard, so a retry would post it twice.
   */
  dropAfterStoreNext(method: string, count = 1): void {
    this.drops.set(method, (this.drops.get(method) ?? 0) + count);
  }

  /** Messages, updates and stream stops with blocks of these types answer invalid_blocks. `[]` allows all. */
  refuseBlockTypes(types: string[]): void {
    this.refusedTypes = new Set(types);
  }

  /** chat.startStream answers this error (`null` allows streaming again). */
  refuseStreaming(error: string | null = 'not_allowed'): void {
    this.streamingRefusal = error;
  }

  /** Appends to a stream started this long ago answer message_not_in_streaming_state (`null`: never). */
  streamLifetimeMs(ms: number | null): void {
    this.streamLifetime = ms;
  }

  /** Both canvas methods answer this error, as free workspaces do (`null` allows canvases again). */
  refuseCanvases(error: string | null = 'free_teams_cannot_create_non_tabbed_canvases'): void {
    this.canvasRefusal = error;
  }

  /** apps.connections.open is answered by `socketMode`, which hands out the WebSocket URL and serves it. */
  useSocketMode(socketMode: { open(args: Record<string, any>): Answer } | null): void {
    this.socketMode = socketMode;
  }

  /** The latest state of a stored message. */
  message(channel: string, ts: string): StoredMessage | undefined {
    const found = this.find(channel, ts);
    return found && structuredClone(found);
  }

  /** The replies of a thread in ts order, without its parent. */
  threadReplies(channel: string, threadTs: string): StoredMessage[] {
    return this.channelMessages(channel)
      .filter((m) => m.thread_ts === threadTs && m.ts !== threadTs)
      .map((m) => structuredClone(m));
  }

  /** The assistant status shown in a thread now: set by setStatus, cleared by the app's next post there. */
  threadStatus(channelId: string, threadTs: string): { status: string; loading_messages?: string[] } | undefined {
    const status = this.statuses.get(`${channelId} ${threadTs}`);
    return status && structuredClone(status);
  }

  canvas(id: string): StoredCanvas | undefined {
    const found = this.canvases.get(id);
    return found && { ...found };
  }

  /** The files whose bytes reached the upload URL, in the order their URLs were handed out. */
  uploadedFiles(): UploadedFile[] {
    const files: UploadedFile[] = [];
    for (const f of this.files.values()) {
      if (!f.bytes) continue;
      files.push({ ...f, bytes: Buffer.from(f.bytes), completed: f.completed ?? false });
    }
    return files;
  }

  /**
   * A file as if a person had uploaded it: files.info describes it, and its url_private_download
   * serves the bytes to a request with the bot token as Bearer (401 without one, 403 with another).
   */
  registerFile(spec: SharedFileSpec): SharedFileObject {
    const id = this.nextId('F');
    const bytes = typeof spec.bytes === 'string' ? Buffer.from(spec.bytes, 'utf8') : Buffer.from(spec.bytes);
    this.sharedFiles.set(id, { spec, bytes });
    return this.sharedFileObject(id)!;
  }

  /** The Home tab last published for a user. */
  homeView(userId: string): Record<string, any> | undefined {
    const view = this.homeViews.get(userId);
    return view && structuredClone(view);
  }

  waitFor(predicate: (call: SlackCall) => boolean, timeoutMs = 10_000): Promise<SlackCall> {
    const found = this.calls.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `FakeSlack: no matching call within ${timeoutMs} ms; seen: ${this.calls.map((c) => c.method).join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Forgets the calls and every injected failure or fault mode; what Slack stored stays. */
  reset(): void {
    this.calls.length = 0;
    this.failures.clear();
    this.delays.clear();
    this.matchers = [];
    this.channelRate = null;
    this.buckets.clear();
    this.chaosState = null;
    this.drops.clear();
    this.refusedTypes.clear();
    this.streamingRefusal = null;
    this.canvasRefusal = null;
    this.streamLifetime = null;
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

  private nextId(prefix: string): string {
    return `${prefix}${String(++this.idCounter).padStart(9, '0')}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const raw = body.toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;

    if (path.startsWith('/response/')) {
      const parsed = safeParse(raw);
      const _responseId = decodeURIComponent(path.slice('/response/'.length));
      const args = { ...(isObject(parsed) ? parsed : {}), _responseId };
      this.record({ method: 'response_url', args, at: Date.now(), response: { ok: true }, status: 200 });
      return send(res, 200, { ok: true });
    }
    if (path.startsWith('/upload/')) return this.receiveUpload(decodeURIComponent(path.slice(8)), req, body, res);
    if (path.startsWith('/files-pri/')) return this.serveFile(req, res);
    if (!path.startsWith('/api/')) return send(res, 404, { ok: false, error: 'unknown_path' });

    const method = path.slice('/api/'.length);
    const args = parseArgs(raw, String(req.headers['content-type'] ?? ''));
    const auth = String(req.headers.authorization ?? '');
    if (auth.startsWith('Bearer ')) args._auth = auth.slice(7);
    const delay = this.delays.get(method)?.shift();
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const call: SlackCall = { method, args, at: Date.now() };

    const fault = this.injectedFault(method, args);
    if (fault) return this.fail(res, call, fault);

    const basic = auth.startsWith('Basic ') ? auth.slice(6) : null;
    call.response = this.installs.refuses(args._auth)
      ? { ok: false, error: 'token_revoked' }
      : method === 'oauth.v2.access'
        ? this.installs.access(args, basic)
        : this.answer(method, args);
    call.status = 200;
    const drops = this.drops.get(method) ?? 0;
    if (drops > 0) {
      this.drops.set(method, drops - 1);
      call.dropped = true;
      this.record(call);
      res.destroy();
      return;
    }
    this.record(call);
    send(res, 200, call.response);
  }

  /** Explicit failures first (failMatching, failNext), then chaos, then the channel rate limit. */
  private injectedFault(method: string, args: Record<string, any>): Fault | null {
    const matcher = this.matchers.find((m) => m.method === method && m.left > 0 && m.matches(args));
    if (matcher) matcher.left -= 1;
    const failure = matcher?.failure ?? this.failures.get(method)?.shift();
    if (failure) return failure;

    const chaos = this.chaosState;
    if (chaos?.methods.has(method)) {
      chaos.count += 1;
      // Drawn on every call so the 500s depend only on the seed and the call count.
      const roll = chaos.random();
      if (chaos.every > 0 && chaos.count % chaos.every === 0) return { rateLimitedSeconds: chaos.retryAfter };
      if (roll < chaos.ratio) return { serverError: true };
    }

    const limit = this.channelRate;
    if (limit?.methods.has(method)) {
      // A token bucket per channel: `burst` tokens, refilled at `perSecond`.
      const now = Date.now();
      const channel = str(args.channel);
      const bucket = this.buckets.get(channel) ?? { tokens: limit.burst, at: now };
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
      bucket.at = now;
      this.buckets.set(channel, bucket);
      if (bucket.tokens < 1) {
        return { rateLimitedSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)) };
      }
      bucket.tokens -= 1;
    }
    return null;
  }

  private fail(res: ServerResponse, call: SlackCall, fault: Fault): void {
    if ('rateLimitedSeconds' in fault) {
      call.response = { ok: false, error: 'ratelimited' };
      call.status = 429;
      this.record(call);
      res.setHeader('Retry-After', String(fault.rateLimitedSeconds));
      send(res, 429, call.response);
      return;
    }
    // A 500 means Slack did not take the call: nothing is stored.
    call.response = 'serverError' in fault ? { ok: false, error: 'internal_error' } : { ok: false, error: fault.error };
    call.status = 'serverError' in fault ? 500 : 200;
    this.record(call);
    send(res, call.status, call.response);
  }

  private answer(method: string, args: Record<string, any>): Answer {
    switch (method) {
      case 'auth.test':
        return (
          this.installs.whoAmI(args._auth) ?? {
            ok: true,
            url: 'https://fake.slack.com/',
            team: 'Fake',
            user: 'orchestrate',
            team_id: this.teamId,
            user_id: this.botUserId,
            bot_id: BOT_ID,
          }
        );
      case 'apps.connections.open':
        return this.socketMode?.open(args) ?? { ok: true };
      case 'chat.postMessage':
        return this.postMessage(args);
      case 'chat.update':
        return this.updateMessage(args);
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'chat.getPermalink':
        return {
          ok: true,
          channel: args.channel,
          permalink: `https://fake.slack.com/archives/${args.channel}/p${String(args.message_ts).replace('.', '')}`,
        };
      case 'chat.startStream':
        return this.startStream(args);
      case 'chat.appendStream':
        return this.appendStream(args);
      case 'chat.stopStream':
        return this.stopStream(args);
      case 'conversations.replies':
        return this.replies(args);
      case 'conversations.history': {
        // Top-level messages (thread parents and broadcast replies included), newest first as Slack lists them.
        const top = this.channelMessages(str(args.channel)).filter(
          (m) => !m.thread_ts || m.thread_ts === m.ts || m.reply_broadcast,
        );
        return this.page(top.reverse(), args, 100);
      }
      case 'assistant.threads.setStatus':
        return this.setStatus(args);
      case 'conversations.canvases.create':
      case 'canvases.create':
        return this.createCanvas(method, args);
      case 'files.getUploadURLExternal':
        return this.uploadUrl(args);
      case 'files.completeUploadExternal':
        return this.completeUpload(args);
      case 'files.info':
        return this.fileInfo(args);
      case 'views.open':
      case 'views.update':
      case 'views.push': {
        if (viewError(args.view)) return { ok: false, error: 'invalid_arguments' };
        // views.update keeps the id of the view it updates, like Slack; new views get the next id.
        const id =
          method === 'views.update' && typeof args.view_id === 'string' ? args.view_id : `V${++this.viewCounter}`;
        return { ok: true, view: { id, team_id: this.teamId, ...args.view } };
      }
      case 'views.publish':
        return this.publishHome(args);
      case 'reactions.add':
        return this.addReaction(args);
      case 'conversations.info':
      case 'conversations.join':
        return {
          ok: true,
          channel: {
            id: args.channel,
            name: 'general',
            is_channel: true,
            is_private: false,
            is_archived: false,
            is_member: true,
            context_team_id: this.teamId,
          },
        };
      default:
        return { ok: true };
    }
  }

  private get botToken(): string {
    return this.options.botToken ?? 'xoxb-test';
  }

  private sharedFileObject(id: string): SharedFileObject | undefined {
    const file = this.sharedFiles.get(id);
    if (!file) return undefined;
    const { spec, bytes } = file;
    const ext = /\.([a-z0-9]+)$/i.exec(spec.name)?.[1]?.toLowerCase() ?? 'text';
    const url = `http://127.0.0.1:${this.port}/files-pri/${this.teamId}-${id}/${encodeURIComponent(spec.name)}`;
    return {
      id,
      name: spec.name,
      title: spec.name,
      mimetype: spec.mimetype ?? 'text/plain',
      filetype: spec.filetype ?? (ext === 'md' ? 'markdown' : ext === 'txt' ? 'text' : ext),
      size: spec.size ?? bytes.length,
      mode: spec.external ? 'external' : 'hosted',
      is_external: spec.external ?? false,
      url_private: url,
      url_private_download: url.replace(/\/([^/]*)$/, '/download/$1'),
    };
  }

  private fileInfo(args: Record<string, any>): Answer {
    if (!args._auth) return { ok: false, error: 'not_authed' };
    if (args._auth !== this.botToken) return { ok: false, error: 'invalid_auth' };
    const file = this.sharedFileObject(str(args.file));
    return file ? { ok: true, file } : { ok: false, error: 'file_not_found' };
  }

  /** A registered file's bytes, to the bot token only; recorded as a `files.download` call. */
  private serveFile(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = /^\/files-pri\/[^/-]+-([^/]+)\//.exec(url.pathname)?.[1] ?? '';
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const file = this.sharedFiles.get(id);
    const hop = Number(url.searchParams.get('hop') ?? 0);
    const call: SlackCall = { method: 'files.download', args: { _fileId: id, _auth: token, hop }, at: Date.now() };
    const answer = (status: number, headers: Record<string, string> = {}, body: Buffer | string = '') => {
      call.status = status;
      call.response = { ok: status === 200 };
      this.record(call);
      res.writeHead(status, headers);
      res.end(body);
    };
    if (!token) return answer(401, { 'content-type': 'text/plain' }, 'Unauthorized');
    if (token !== this.botToken) return answer(403, { 'content-type': 'text/plain' }, 'Forbidden');
    if (!file || file.spec.external) return answer(404, { 'content-type': 'text/plain' }, 'Not Found');
    const download = file.spec.download ?? {};
    if (download.status) return answer(download.status, { 'content-type': 'text/plain' }, 'Refused');
    if (download.redirectTo) return answer(302, { location: download.redirectTo });
    if (hop < (download.redirects ?? 0)) {
      url.searchParams.set('hop', String(hop + 1));
      return answer(302, { location: `${url.pathname}${url.search}` });
    }
    const contentType = download.contentType ?? file.spec.mimetype ?? 'text/plain';
    answer(200, { 'content-type': contentType, 'content-length': String(file.bytes.length) }, file.bytes);
  }

  private get botUserId(): string {
    return this.options.botUserId ?? 'UBOT';
  }

  private get teamId(): string {
    return this.options.teamId ?? 'T1';
  }

  private channelMessages(channel: string): StoredMessage[] {
    return this.messages.get(channel) ?? [];
  }

  private find(channel: string, ts: string): StoredMessage | undefined {
    return this.channelMessages(channel).find((m) => m.ts === ts);
  }

  private store(fields: Omit<StoredMessage, 'type' | 'ts' | 'user' | 'bot_id'>): StoredMessage {
    const message: StoredMessage = withoutUndefined({
      type: 'message' as const,
      ts: this.nextTs(),
      user: this.botUserId,
      bot_id: BOT_ID,
      ...fields,
    });
    const list = this.messages.get(message.channel) ?? [];
    list.push(message);
    this.messages.set(message.channel, list);
    // Slack clears a thread's assistant status when the app posts in that thread.
    if (message.thread_ts) this.statuses.delete(`${message.channel} ${message.thread_ts}`);
    return message;
  }

  private postMessage(args: Record<string, any>): Answer {
    const invalid = messageError(args, this.refusedTypes) ?? metadataError(args.metadata);
    if (invalid) return { ok: false, error: invalid };
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const threadTs = str(args.thread_ts) || undefined;
    const message = this.store({
      channel,
      thread_ts: threadTs,
      text: str(args.text ?? args.markdown_text),
      blocks: Array.isArray(args.blocks) ? args.blocks : undefined,
      metadata: args.metadata,
      reply_broadcast: threadTs && truthy(args.reply_broadcast) ? true : undefined,
    });
    return { ok: true, channel, ts: message.ts, message: wire(message, true) };
  }

  private updateMessage(args: Record<string, any>): Answer {
    const invalid = messageError(args, this.refusedTypes) ?? metadataError(args.metadata);
    if (invalid) return { ok: false, error: invalid };
    const channel = str(args.channel);
    const ts = str(args.ts);
    const message = this.find(channel, ts);
    if (!message) return { ok: false, error: 'message_not_found' };
    if (args.text !== undefined || args.markdown_text !== undefined) {
      message.text = str(args.text ?? args.markdown_text);
    }
    // Slack keeps the blocks when chat.update leaves them out; an empty list removes them.
    if (Array.isArray(args.blocks)) message.blocks = args.blocks.length > 0 ? args.blocks : undefined;
    if (args.metadata !== undefined) message.metadata = args.metadata;
    return { ok: true, channel, ts, text: message.text, message: wire(message, true) };
  }

  private startStream(args: Record<string, any>): Answer {
    if (this.streamingRefusal) return { ok: false, error: this.streamingRefusal };
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const threadTs = str(args.thread_ts);
    if (!threadTs) return { ok: false, error: 'invalid_arguments' };
    // Outside a DM Slack must know whom the stream is for.
    if (/^[CG]/.test(channel)) {
      if (!args.recipient_team_id) return { ok: false, error: 'missing_recipient_team_id' };
      if (!args.recipient_user_id) return { ok: false, error: 'missing_recipient_user_id' };
    }
    // The chatStream helper starts with no content when stop() comes before the buffer filled.
    const content = this.streamContent(args, false);
    if ('error' in content) return { ok: false, error: content.error };
    const message = this.store({
      channel,
      thread_ts: threadTs,
      text: content.text,
      blocks: content.blocks.length > 0 ? content.blocks : undefined,
      chunks: content.chunks,
      streaming_state: 'in_progress',
    });
    this.streamStarts.set(`${channel} ${message.ts}`, Date.now());
    return { ok: true, channel, ts: message.ts };
  }

  private appendStream(args: Record<string, any>): Answer {
    const channel = str(args.channel);
    const ts = str(args.ts);
    const message = this.find(channel, ts);
    if (!message?.streaming_state) return { ok: false, error: 'message_not_found' };
    const started = this.streamStarts.get(`${channel} ${ts}`) ?? 0;
    const expired = this.streamLifetime !== null && Date.now() - started >= this.streamLifetime;
    if (message.streaming_state !== 'in_progress' || expired) {
      return { ok: false, error: 'message_not_in_streaming_state' };
    }
    const content = this.streamContent(args, true);
    if ('error' in content) return { ok: false, error: content.error };
    applyStream(message, content);
    return { ok: true, channel, ts };
  }

  private stopStream(args: Record<string, any>): Answer {
    const channel = str(args.channel);
    const ts = str(args.ts);
    const message = this.find(channel, ts);
    if (!message?.streaming_state) return { ok: false, error: 'message_not_found' };
    // Stopping an expired stream still works: that is how an app finishes one and moves to chat.update.
    if (message.streaming_state !== 'in_progress') return { ok: false, error: 'message_not_in_streaming_state' };
    const content = this.streamContent(args, false);
    if ('error' in content) return { ok: false, error: content.error };
    const blocks: unknown[] = Array.isArray(args.blocks) ? args.blocks : [];
    const invalid = blocksError([...(message.blocks ?? []), ...content.blocks, ...blocks], this.refusedTypes);
    if (invalid) return { ok: false, error: invalid };
    const metaError = metadataError(args.metadata);
    if (metaError) return { ok: false, error: metaError };
    applyStream(message, { ...content, blocks: [...content.blocks, ...blocks] });
    if (args.metadata !== undefined) message.metadata = args.metadata;
    message.streaming_state = 'completed';
    return { ok: true, channel, ts, message: wire(message, true) };
  }

  /** markdown_text or chunks (never both): the text they add, the blocks they add, and the chunks as sent. */
  private streamContent(args: Record<string, any>, required: boolean): { error: string } | StreamContent {
    const hasText = args.markdown_text !== undefined;
    if (hasText && args.chunks !== undefined) return { error: 'invalid_arguments' };
    if (required && !hasText && args.chunks === undefined) return { error: 'invalid_arguments' };
    const chunks: any[] = hasText ? [{ type: 'markdown_text', text: str(args.markdown_text) }] : (args.chunks ?? []);
    const invalid = chunksError(chunks, this.refusedTypes);
    if (invalid) return { error: invalid };
    return {
      chunks,
      text: chunks
        .filter((c) => c.type === 'markdown_text')
        .map((c) => c.text)
        .join(''),
      blocks: chunks.filter((c) => c.type === 'blocks').flatMap((c) => c.blocks),
    };
  }

  private replies(args: Record<string, any>): Answer {
    const list = this.channelMessages(str(args.channel));
    const ts = str(args.ts);
    // A reply's ts stands for its whole thread, as in Slack.
    const root = list.find((m) => m.ts === ts)?.thread_ts ?? ts;
    const parent = list.find((m) => m.ts === root);
    const replies = list.filter((m) => m.thread_ts === root && m.ts !== root);
    if (!parent && replies.length === 0) return { ok: false, error: 'thread_not_found' };
    const last = replies.at(-1);
    const head = parent && last ? { ...parent, reply_count: replies.length, latest_reply: last.ts } : parent;
    return this.page(head ? [head, ...replies] : replies, args, 1000);
  }

  /** One page of messages with Slack's cursor pagination; metadata only when include_all_metadata is set. */
  private page(messages: StoredMessage[], args: Record<string, any>, defaultLimit: number): Answer {
    const limit = Math.min(1000, Math.max(1, Number(args.limit) || defaultLimit));
    let offset = 0;
    if (args.cursor) {
      const match = /^offset:(\d+)$/.exec(Buffer.from(str(args.cursor), 'base64').toString('utf8'));
      if (!match) return { ok: false, error: 'invalid_cursor' };
      offset = Number(match[1]);
    }
    const hasMore = offset + limit < messages.length;
    return {
      ok: true,
      messages: messages.slice(offset, offset + limit).map((m) => wire(m, truthy(args.include_all_metadata))),
      has_more: hasMore,
      response_metadata: { next_cursor: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '' },
    };
  }

  private setStatus(args: Record<string, any>): Answer {
    const channelId = str(args.channel_id);
    const threadTs = str(args.thread_ts);
    if (!channelId || !threadTs || typeof args.status !== 'string') return { ok: false, error: 'invalid_arguments' };
    const loading = args.loading_messages;
    if (loading !== undefined && (!Array.isArray(loading) || loading.length > 10)) {
      return { ok: false, error: 'invalid_arguments' };
    }
    const key = `${channelId} ${threadTs}`;
    // An empty status clears the indicator.
    if (args.status === '') this.statuses.delete(key);
    else this.statuses.set(key, withoutUndefined({ status: args.status, loading_messages: loading }));
    return { ok: true };
  }

  private createCanvas(method: string, args: Record<string, any>): Answer {
    if (this.canvasRefusal) return { ok: false, error: this.canvasRefusal };
    const content = args.document_content;
    const markdown = isObject(content) && content.type === 'markdown' ? content.markdown : undefined;
    if (content !== undefined && typeof markdown !== 'string') {
      return { ok: false, error: 'invalid_arguments' };
    }
    const channelId = str(args.channel_id) || undefined;
    const kind = method === 'conversations.canvases.create' ? 'channel' : 'standalone';
    if (kind === 'channel') {
      if (!channelId) return { ok: false, error: 'channel_not_found' };
      // A channel has one channel canvas.
      const taken = [...this.canvases.values()].some((c) => c.kind === 'channel' && c.channelId === channelId);
      if (taken) return { ok: false, error: 'channel_canvas_already_exists' };
    }
    const id = this.nextId('F');
    const title = str(args.title) || undefined;
    this.canvases.set(id, withoutUndefined({ id, kind, channelId, title, markdown: str(markdown) }));
    return { ok: true, canvas_id: id };
  }

  private uploadUrl(args: Record<string, any>): Answer {
    const filename = str(args.filename);
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length < 1) return { ok: false, error: 'invalid_arguments' };
    const id = this.nextId('F');
    this.files.set(id, { id, filename, bytes: null });
    return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${id}`, file_id: id };
  }

  /** The upload URL takes the bytes raw or, as the WebClient sends them, as the one file part of a multipart form. */
  private async receiveUpload(id: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const call: SlackCall = { method: 'upload', args: { _fileId: id }, at: Date.now() };
    const file = this.files.get(id);
    let bytes: Buffer | null = body;
    const contentType = String(req.headers['content-type'] ?? '');
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
      const part = [...form.values()].find((v): v is File => typeof v !== 'string');
      bytes = part ? Buffer.from(await part.arrayBuffer()) : null;
    }
    const status = !file ? 404 : bytes ? 200 : 400;
    const text = status === 200 ? `OK - ${bytes?.length}` : status === 404 ? 'Not Found' : 'No file part';
    if (file && bytes) file.bytes = bytes;
    call.args.length = bytes?.length ?? 0;
    call.status = status;
    call.response = { ok: status === 200, body: text };
    this.record(call);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(text);
  }

  private completeUpload(args: Record<string, any>): Answer {
    const entries = args.files;
    if (!Array.isArray(entries) || entries.length === 0) return { ok: false, error: 'invalid_arguments' };
    const files = entries.map((e) => ({ entry: e, file: this.files.get(str(e?.id)) }));
    // Completing a file whose bytes never arrived fails like an unknown id.
    if (files.some(({ file }) => !file?.bytes)) return { ok: false, error: 'file_not_found' };
    const channelId = str(args.channel_id) || undefined;
    const threadTs = channelId ? str(args.thread_ts) || undefined : undefined;
    const initialComment = str(args.initial_comment) || undefined;
    const done = files.map(({ entry, file }) => {
      const title = str(entry.title) || file!.filename;
      return Object.assign(file!, withoutUndefined({ title, completed: true, channelId, threadTs, initialComment }));
    });
    // Sharing to a channel posts a message carrying the files, in the thread when one is given.
    if (channelId) {
      this.store({ channel: channelId, thread_ts: threadTs, text: initialComment ?? '', files: done.map((f) => f.id) });
    }
    const channels = channelId ? [channelId] : [];
    return {
      ok: true,
      files: done.map((f) => ({ id: f.id, name: f.filename, title: f.title, size: f.bytes!.length, channels })),
    };
  }

  private publishHome(args: Record<string, any>): Answer {
    const userId = str(args.user_id);
    if (!userId || viewError(args.view, 'home')) return { ok: false, error: 'invalid_arguments' };
    const id = this.homeViews.get(userId)?.id ?? `V${++this.viewCounter}`;
    const view = { ...args.view, id, team_id: this.teamId };
    this.homeViews.set(userId, view);
    return { ok: true, view };
  }

  private addReaction(args: Record<string, any>): Answer {
    const channel = str(args.channel);
    const ts = str(args.timestamp);
    const name = str(args.name);
    if (!channel || !ts) return { ok: false, error: 'no_item_specified' };
    if (!name) return { ok: false, error: 'invalid_name' };
    const key = `${channel} ${ts} ${name}`;
    if (this.reacted.has(key)) return { ok: false, error: 'already_reacted' };
    this.reacted.add(key);
    const message = this.find(channel, ts);
    if (message) message.reactions = [...(message.reactions ?? []), name];
    return { ok: true };
  }
}

type StreamContent = { text: string; blocks: any[]; chunks: any[] };

function applyStream(message: StoredMessage, content: StreamContent): void {
  message.text += content.text;
  message.chunks = [...(message.chunks ?? []), ...content.chunks];
  if (content.blocks.length > 0) message.blocks = [...(message.blocks ?? []), ...content.blocks];
}

/** A message as Slack's read methods show it. */
function wire(m: StoredMessage & { reply_count?: number; latest_reply?: string }, withMetadata: boolean): Answer {
  return withoutUndefined({
    type: 'message',
    subtype: m.reply_broadcast ? 'thread_broadcast' : undefined,
    user: m.user,
    bot_id: m.bot_id,
    ts: m.ts,
    thread_ts: m.thread_ts,
    text: m.text,
    blocks: m.blocks,
    metadata: withMetadata ? m.metadata : undefined,
    files: m.files?.map((id) => ({ id })),
    reactions: m.reactions?.map((name) => ({ name, users: [m.user], count: 1 })),
    reply_count: m.reply_count,
    latest_reply: m.latest_reply,
  });
}

/** A small seeded generator (mulberry32): the same seed gives the same faults on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** Form fields are strings, so a boolean arrives as "true" or "1". */
function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
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
