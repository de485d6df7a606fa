/**
 * Renders timeline PNGs on a worker thread. resvg takes 40–90 ms of CPU for one timeline; on the
 * event loop that stalls every run's hand-offs (and, with the embedded database, every query) right
 * as a run ends. One worker, started at the first picture and stopped once unused for a while, so
 * an idle process carries no extra thread; should the worker fail, the caller draws the picture itself.
 */
import { Worker } from 'node:worker_threads';
import type { ResvgRenderOptions } from '@resvg/resvg-js';

/** Plain CommonJS, so the worker runs the same under tsx, vitest and the built app. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Resvg } = require(workerData.resvgPath);
parentPort.on('message', ({ id, svg, options }) => {
  try {
    parentPort.postMessage({ id, png: new Resvg(svg, options).render().asPng() });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

/** A worker costs a few MB of memory: kept this long after its last picture, then stopped. */
const IDLE_MS = 60_000;

interface Pending {
  resolve: (png: Buffer) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; png: Uint8Array; error?: undefined } | { id: number; error: string };

export class PngWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly resvgPath: string) {}

  render(svg: string, options: ResvgRenderOptions): Promise<Buffer> {
    clearTimeout(this.idle);
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, svg, options });
    });
  }

  /** Stops the worker; what it was drawing is refused (its callers draw it themselves). */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('the PNG worker was stopped'));
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { resvgPath: this.resvgPath } });
    // A picture in progress never keeps a finished process alive.
    worker.unref();
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`the PNG worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.error !== undefined) waiting?.reject(new Error(reply.error));
    else waiting?.resolve(Buffer.from(reply.png.buffer, reply.png.byteOffset, reply.png.byteLength));
    if (this.pending.size) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.stop(), IDLE_MS);
    this.idle.unref();
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(error);
  }
}
