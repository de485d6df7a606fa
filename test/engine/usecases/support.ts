/** Shared setup for the use case tests: the embedded database, a real config, a recording stub engine. */
import { vi } from 'vitest';
import { decodeControlValue, encodeControlValue } from '../../../src/blocks/actionIds.js';
import { loadConfig } from '../../../src/config.js';
import { type OrchestrationId, orchestrationIdOf } from '../../../src/engine/plan/ids.js';
import type { Proposal } from '../../../src/engine/plan/proposal.js';
import { ACTIVE_STATUSES, type OrchestrationStatus } from '../../../src/engine/plan/status.js';
import type { Engine } from '../../../src/engine/run/engine.js';
import type { ReplanJobData } from '../../../src/engine/run/queue.js';
import { transition } from '../../../src/engine/run/transition.js';
import type { Click } from '../../../src/engine/usecases/guard.js';
import { Agent } from '../../../src/models/agent.js';
import { Orchestration, type OrchestrationDoc } from '../../../src/models/orchestration.js';
import type { Services } from '../../../src/services.js';
import { sampleProposal, TEAM_ID } from '../../fixtures.js';
import { captureLogger } from '../../helpers/captureLogger.js';
import { useEmbeddedDatabase } from '../../helpers/database.js';

export const REQUESTER = 'UREQUESTER';
export const APPROVER = 'UAPPROVER1';
export const STRANGER = 'USTRANGER';
export const BOT = 'UORCHBOT';
export const CEILING_USD = 100;
export const DEFAULT_USD = 2;

/** Starts the embedded database for the file, and empties the collections the use cases touch before each test. */
export function useDatabase(): void {
  useEmbeddedDatabase(() => Promise.all([Orchestration.deleteMany({}), Agent.deleteMany({})]));
}

/**
 * The engine methods the use cases call, each a recording mock. cancel and raiseCapAndContinue do
 * the minimal stored transition, so a second click sees the outcome of the first.
 */
export function stubEngine() {
  return {
    redraw: vi.fn(async (_id: OrchestrationId): Promise<void> => undefined),
    enqueuePlan: vi.fn(async (_id: OrchestrationId, _responseUrl: string | null): Promise<void> => undefined),
    enqueueStart: vi.fn(async (_id: OrchestrationId): Promise<void> => undefined),
    enqueueReplan: vi.fn(async (_data: ReplanJobData): Promise<void> => undefined),
    cancel: vi.fn(
      (id: OrchestrationId, by: string): Promise<OrchestrationDoc | null> =>
        transition(id, ACTIVE_STATUSES, 'cancelled', { reason: 'Cancelled', by }),
    ),
    raiseCapAndContinue: vi.fn(
      (id: OrchestrationId, newCapUsd: number, by: string): Promise<OrchestrationDoc | null> =>
        transition(id, 'failed', 'executing', {
          by,
          reason: `cap raised to ${newCapUsd}`,
          where: { budgetStop: true },
          set: { budgetStop: false, 'budget.maxUsd': newCapUsd },
        }),
    ),
    respond: vi.fn(async (_responseUrl: string | null, _text: string): Promise<boolean> => true),
  };
}

export type StubEngine = ReturnType<typeof stubEngine>;

/** Services with a real config (one approver, a $100 ceiling), a fresh stub engine and a capturing logger. */
export function makeServices(): { services: Services; engine: StubEngine; logs: string[] } {
  const config = loadConfig({
    SLACK_SIGNING_SECRET: 'test-signing-secret',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    OPENAI_API_KEY: 'sk-test-key-not-real',
    ORCHESTRATE_APPROVERS: APPROVER,
    ORCHESTRATE_DEFAULT_BUDGET_USD: String(DEFAULT_USD),
    ORCHESTRATE_MAX_BUDGET_USD: String(CEILING_USD),
  });
  const engine = stubEngine();
  const logs: string[] = [];
  return { services: { config, engine: engine as unknown as Engine, logger: captureLogger(logs) }, engine, logs };
}

export interface SeedOptions {
  proposal?: Proposal;
  status?: OrchestrationStatus;
  revision?: number;
  maxUsd?: number;
  spentUsd?: number;
  budgetStop?: boolean;
  approvedBy?: string | null;
}

/** An orchestration as planning leaves it (proposed, revision 1), or as the options say. */
export async function seed(options: SeedOptions = {}): Promise<OrchestrationId> {
  const proposal = options.proposal ?? sampleProposal();
  const revision = options.revision ?? 1;
  const history = Array.from({ length: revision }, (_, i) => ({
    revision: i + 1,
    proposal,
    change: i === 0 ? 'proposed by the CEO agent' : `edit number ${i + 1}`,
    by: i === 0 ? null : REQUESTER,
    at: new Date(),
  }));
  const doc = await Orchestration.create({
    slackTeamId: TEAM_ID,
    requesterId: REQUESTER,
    channelId: 'CGENERAL',
    messageTs: '1.0',
    goal: proposal.goal,
    status: options.status ?? 'proposed',
    proposal,
    revision,
    history,
    approvedBy: options.approvedBy ?? null,
    budget: {
      maxUsd: options.maxUsd ?? proposal.budget.maxUsd,
      spentUsd: options.spentUsd ?? 0,
      reservedUsd: 0,
      warned: false,
    },
    budgetStop: options.budgetStop ?? false,
  });
  return orchestrationIdOf(doc);
}

export async function load(id: OrchestrationId): Promise<OrchestrationDoc> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc) throw new Error(`orchestration ${id} is gone`);
  return doc;
}

export interface ClickOptions {
  userId?: string;
  target?: string;
  responseUrl?: string;
}

/** A click on a control drawn for `revision`, its value encoded and decoded as the listener does. */
export function clickOn(id: OrchestrationId, revision: number, options: ClickOptions = {}): Click {
  const raw = encodeControlValue({
    orchestrationId: id,
    revision,
    ...(options.target ? { target: options.target } : {}),
  });
  return {
    control: decodeControlValue(raw),
    userId: options.userId ?? REQUESTER,
    botUserId: BOT,
    ...(options.responseUrl ? { responseUrl: options.responseUrl } : {}),
  };
}

/** A roster agent a swap can name. */
export async function rosterAgent(name: string, title = 'Senior researcher'): Promise<void> {
  await Agent.create({
    slackTeamId: TEAM_ID,
    name,
    title,
    persona: `${name} digs up facts and cites them.`,
    skills: ['research'],
    origin: 'roster',
  });
}
