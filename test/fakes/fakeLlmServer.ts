/**
 * What the fake LLM servers share: each request is recorded with when it started and ended and
 * whether the client hung up (an aborted call), made to take `delayMs` (cut short by a hang-up),
 * and answered by a responder script. Peak concurrency is kept, for tests of parallelism.
 */
import type { ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback.js';

export interface TimedRecord {
  startedAt: number;
  endedAt: number | null;
  aborted: boolean;
}

export abstract class FakeLlmServer<R extends TimedRecord, Reply> extends LoopbackServer {
  readonly requests: R[] = [];
  delayMs = 0;
  private inFlight = 0;
  private peak = 0;

  constructor(public responder: (request: R) => Reply | Promise<Reply>) {
    super();
  }

  get maxConcurrent(): number {
    return this.peak;
  }

  reset(): void {
    this.requests.length = 0;
    this.peak = this.inFlight;
  }

  /**
   * Records `record`, waits `delayMs`, and asks the responder (a throw becomes `onThrow`'s reply).
   * Returns null when the client hung up meanwhile: there is no one to answer.
   */
  protected async answer(record: R, res: ServerResponse, onThrow: (message: string) => Reply): Promise<Reply | null> {
    this.requests.push(record);
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    let answered = false;
    let wake: (() => void) | null = null;
    const done = () => {
      if (record.endedAt === null) {
        record.endedAt = Date.now();
        this.inFlight -= 1;
      }
    };
    // 'close' on the response fires when the client hangs up before we answer (and after a normal
    // end, which `answered` tells apart). req 'close' would fire as soon as the body was read.
    res.on('close', () => {
      if (!answered) {
        record.aborted = true;
        done();
        wake?.();
      }
    });
    if (res.destroyed) {
      record.aborted = true;
      done();
      return null;
    }
    if (this.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.delayMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    if (record.aborted) return null;
    let reply: Reply;
    try {
      reply = await this.responder(record);
    } catch (error) {
      reply = onThrow((error as Error)?.message ?? String(error));
    }
    if (record.aborted) return null;
    answered = true;
    done();
    return reply;
  }
}
