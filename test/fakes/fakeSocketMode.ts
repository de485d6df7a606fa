/**
 * Slack's Socket Mode side, for the fake Slack Web API: `apps.connections.open` (routed here by
 * FakeSlack.useSocketMode) hands the app-level token a one-use ws:// URL on 127.0.0.1, like Slack's
 * wss://wss-primary.slack.com/link/?ticket=…, on a host of its own. The WebSocket there says
 * `hello`, carries envelopes to the app and records the acks it sends back, so a test can send a
 * slash command, a click or a modal submission and read what the app acknowledged it with.
 *
 * The `ws` package is not installed here (the Socket Mode client uses undici's WebSocket), so this
 * speaks just enough RFC 6455 itself: the handshake, text frames both ways, ping/pong and close.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface Envelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, any>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

/** What the app sent back for an envelope: `payload` is what its listener passed to ack(). */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, any>;
  at: number;
}

type AckWaiter = { envelopeId: string; resolve: (ack: SocketAck) => void };

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export class FakeSocketMode {
  readonly acks: SocketAck[] = [];
  /** Every envelope sent, in order, for a test that wants to see what the app was given. */
  readonly sent: Envelope[] = [];
  /** Messages from the app that were not acks (Socket Mode has none today: kept to notice if that changes). */
  readonly otherMessages: unknown[] = [];
  private server: Server | null = null;
  private port = 0;
  private tickets = new Set<string>();
  private connections: WsConnection[] = [];
  private waiters: AckWaiter[] = [];
  private connectWaiters: (() => void)[] = [];
  private envelopeCounter = 0;

  /** `appToken` is the only token apps.connections.open accepts (any xapp- token unless said). */
  constructor(private readonly options: { appToken?: string } = {}) {}

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('Upgrade Required');
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    // Upgraded sockets no longer belong to the HTTP server, so its close would wait for them.
    for (const c of this.connections) c.destroy();
    this.connections = [];
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  /** What apps.connections.open answers; `args._auth` is the Bearer token the call came with. */
  open(args: Record<string, any>): Record<string, any> {
    const token = String(args._auth ?? '');
    if (!token) return { ok: false, error: 'not_authed' };
    if (!token.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
    if (this.options.appToken && token !== this.options.appToken) return { ok: false, error: 'invalid_auth' };
    const ticket = randomBytes(8).toString('hex');
    this.tickets.add(ticket);
    return { ok: true, url: `ws://127.0.0.1:${this.port}/link/?ticket=${ticket}&app_id=A1` };
  }

  /** How many connections are open now. */
  get openConnections(): number {
    return this.connections.filter((c) => c.isOpen).length;
  }

  /** Resolves once a connection is open and has been said hello to. */
  waitForConnection(timeoutMs = 10_000): Promise<void> {
    if (this.openConnections > 0) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => this.connectWaiters.push(resolve)),
      timeoutMs,
      'FakeSocketMode: the app never connected',
    );
  }

  /** Sends an envelope over the newest open connection; returns it (its envelope_id names its ack). */
  send(
    type: EnvelopeType,
    payload: Record<string, any>,
    options: { acceptsResponsePayload?: boolean; retryAttempt?: number; retryReason?: string } = {},
  ): Envelope {
    const connection = this.connections.filter((c) => c.isOpen).at(-1);
    if (!connection) throw new Error('FakeSocketMode: no open connection to send an envelope on');
    const envelope: Envelope = {
      envelope_id: `env-${++this.envelopeCounter}-${randomBytes(4).toString('hex')}`,
      type,
      payload,
      accepts_response_payload: options.acceptsResponsePayload ?? acceptsResponse(type, payload),
      ...(options.retryAttempt !== undefined ? { retry_attempt: options.retryAttempt } : {}),
      ...(options.retryReason !== undefined ? { retry_reason: options.retryReason } : {}),
    };
    this.sent.push(envelope);
    connection.sendText(JSON.stringify(envelope));
    return envelope;
  }

  /** Sends an envelope and waits for its ack, as Slack does before it shows the user anything. */
  async request(
    type: EnvelopeType,
    payload: Record<string, any>,
    options?: Parameters<FakeSocketMode['send']>[2],
  ): Promise<SocketAck> {
    return this.waitForAck(this.send(type, payload, options).envelope_id);
  }

  waitForAck(envelopeId: string, timeoutMs = 10_000): Promise<SocketAck> {
    const found = this.acks.find((a) => a.envelope_id === envelopeId);
    if (found) return Promise.resolve(found);
    let waiter: AckWaiter | undefined;
    const acked = new Promise<SocketAck>((resolve) => {
      waiter = { envelopeId, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(acked, timeoutMs, `FakeSocketMode: no ack for ${envelopeId} within ${timeoutMs} ms`, () => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    });
  }

  /** Slack's `disconnect` message (it sends one before recycling a server): the app should reconnect. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const c of this.connections) if (c.isOpen) c.sendText(JSON.stringify({ type: 'disconnect', reason }));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = req.headers['sec-websocket-key'];
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket is good for one connection, as Slack's are: a reconnect must call apps.connections.open again.
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      refuse(socket, '403 Forbidden');
      return;
    }
    if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string') {
      refuse(socket, '400 Bad Request');
      return;
    }
    const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const connection = new WsConnection(socket, (text) => this.receive(text));
    this.connections.push(connection);
    socket.on('close', () => {
      this.connections = this.connections.filter((c) => c !== connection);
    });
    if (head.length > 0) connection.feed(head);
    connection.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: this.openConnections,
        debug_info: { host: 'fake-socket-mode', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A1' },
      }),
    );
    for (const resolve of this.connectWaiters.splice(0)) resolve();
  }

  private receive(text: string): void {
    let message: any;
    try {
      message = JSON.parse(text);
    } catch {
      this.otherMessages.push(text);
      return;
    }
    if (typeof message?.envelope_id !== 'string') {
      this.otherMessages.push(message);
      return;
    }
    const ack: SocketAck = {
      envelope_id: message.envelope_id,
      ...(message.payload !== undefined ? { payload: message.payload } : {}),
      at: Date.now(),
    };
    this.acks.push(ack);
    for (const w of this.waiters.filter((x) => x.envelopeId === ack.envelope_id)) w.resolve(ack);
    this.waiters = this.waiters.filter((w) => w.envelopeId !== ack.envelope_id);
  }
}

/** One server-side WebSocket: reads the client's (masked) frames, writes unmasked ones. */
class WsConnection {
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closing = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onText: (text: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    // A peer that vanishes mid-frame must not crash the test run.
    socket.on('error', () => socket.destroy());
  }

  get isOpen(): boolean {
    return !this.closing && !this.socket.destroyed;
  }

  sendText(text: string): void {
    if (this.isOpen) this.socket.write(encodeFrame(OP.text, Buffer.from(text, 'utf8')));
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = decodeFrame(this.buffer);
      if (!frame) return;
      this.buffer = this.buffer.subarray(frame.length);
      this.handle(frame.fin, frame.opcode, frame.payload);
    }
  }

  private handle(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === OP.ping) {
      this.socket.write(encodeFrame(OP.pong, payload));
      return;
    }
    if (opcode === OP.pong) return;
    if (opcode === OP.close) {
      // Answer the close with the same code, then hang up: the client's close handshake completes.
      if (!this.closing) this.socket.write(encodeFrame(OP.close, payload.subarray(0, 2)));
      this.closing = true;
      this.socket.end();
      return;
    }
    if (opcode !== OP.continuation) {
      this.fragmentOpcode = opcode;
      this.fragments = [];
    }
    this.fragments.push(payload);
    if (!fin) return;
    const message = Buffer.concat(this.fragments);
    this.fragments = [];
    if (this.fragmentOpcode === OP.text) this.onText(message.toString('utf8'));
  }
}

function decodeFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; length: number } | null {
  if (buf.length < 2) return null;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let size = buf[1]! & 0x7f;
  let offset = 2;
  if (size === 126) {
    if (buf.length < 4) return null;
    size = buf.readUInt16BE(2);
    offset = 4;
  } else if (size === 127) {
    if (buf.length < 10) return null;
    size = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  const mask = masked ? buf.subarray(offset, offset + 4) : null;
  if (mask) offset += 4;
  if (buf.length < offset + size) return null;
  const payload = Buffer.from(buf.subarray(offset, offset + size));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return { fin, opcode, payload, length: offset + size };
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const size = payload.length;
  let header: Buffer;
  if (size < 126) {
    header = Buffer.from([0x80 | opcode, size]);
  } else if (size < 65_536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(size, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(size), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Slack lets commands, modal submissions and option loads answer in the ack; clicks and events cannot. */
function acceptsResponse(type: EnvelopeType, payload: Record<string, any>): boolean {
  if (type === 'slash_commands') return true;
  return type === 'interactive' && ['view_submission', 'block_suggestion'].includes(payload.type);
}

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(message));
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
