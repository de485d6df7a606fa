/**
 * Ten runs while the LLM fails three calls in ten at random: 429s, 500s, timeouts, malformed answers,
 * and usage reported beyond what the call allowed. Every run ends in a final status with a reason, no
 * step runs again once it succeeded, and spend never passes the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Step, type StepDoc } from '../../src/models/run.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../helpers/harness.js';

const RUNS = 10;
const FAULT_RATE = 0.3;

/** A small seeded generator, so that a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    LLM_TIMEOUT_MS: '800',
    ORCHESTRATE_STEP_ATTEMPTS: '3',
    ORCHESTRATE_DEFAULT_BUDGET_USD: '1',
  });
});
afterAll(() => h.stop());

describe('an unreliable LLM', () => {
  it('ends every run in a final status with a reason, never reruns a finished step, and keeps spend within the cap', async () => {
    const random = seeded(2026);
    const base = scriptedResponder();
    const faults: string[] = [];
    h.llm.responder = async (req: RecordedRequest): Promise<FakeReply> => {
      // Planning is left alone: these runs are about steps.
      if (req.toolName === 'propose_plan' || random() >= FAULT_RATE) return base(req) as FakeReply;
      const kind = Math.floor(random() * 5);
      faults.push(String(kind));
      if (kind === 0) return { status: 429, retryAfterSeconds: 0, error: { message: 'slow down' } };
      if (kind === 1) return { status: 500, error: { message: 'upstream failed' } };
      if (kind === 2) {
        await new Promise((r) => setTimeout(r, 1200)); // past LLM_TIMEOUT_MS: the client gives up
        return base(req) as FakeReply;
      }
      if (kind === 3 && req.toolName) return { tool: req.toolName, args: { nonsense: true } };
      // Usage far beyond max_tokens: booked at most at the reservation.
      return { ...(base(req) as FakeReply & object), usage: { input: 10, output: 1_000_000 } } as FakeReply;
    };

    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { value, orchestrationId, ts } = await h.propose(`Unreliable run ${i}`);
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      ids.push(orchestrationId);
    }
    const ended = await eventually(
      async () => {
        const docs = await Orchestration.find({ _id: { $in: ids } }).lean<OrchestrationDoc[]>();
        return docs.every((d) => ['completed', 'failed', 'cancelled'].includes(d.status)) ? docs : null;
      },
      120_000,
      'every run to end',
    );
    expect(faults.length).toBeGreaterThan(5);
    for (const doc of ended) {
      if (doc.status !== 'completed') expect(doc.statusReason, String(doc._id)).toBeTruthy();
      expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd + 1e-9);
      expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
    }
    // No step asked the LLM again after its result was stored.
    const steps = await Step.find({ orchestrationId: { $in: ids }, kind: 'ticket', status: 'succeeded' }).lean<
      StepDoc[]
    >();
    for (const step of steps) {
      const doc = ended.find((d) => String(d._id) === String(step.orchestrationId))!;
      const after = h.llm.requests.filter(
        (r) =>
          r.user.includes(`# Your ticket: ${step.title}`) &&
          r.user.includes(doc.goal) &&
          r.startedAt > new Date(step.finishedAt!).getTime(),
      );
      expect(after, `${step.title} of ${doc.goal}`).toHaveLength(0);
    }
    h.llm.responder = scriptedResponder();
  });
});
