/**
 * What every part of the run shares: settings, the LLMs and their prices, the tools, the queue,
 * the announcer and the calls in flight. Built once by the Engine and passed to each job and lifecycle function.
 */
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { ChatLlm } from '../llm/client.js';
import type { BudgetLeases } from '../money/lease.js';
import type { MeterContext } from '../money/meter.js';
import type { ModelRegistry } from '../money/models.js';
import type { Pricer } from '../money/pricing.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { Announcer } from '../slack/announcer.js';
import type { ToolCatalog } from '../tools/catalog.js';
import type { Inflight } from './inflight.js';
import type { JobQueue } from './queue.js';
import type { StepSlots } from './stepSlots.js';

export interface EngineContext {
  config: Config;
  /** The default model's client and prices: planning, and every role without a model of its own. */
  llm: ChatLlm;
  pricer: Pricer;
  /** Each role's model: its client and its prices. */
  models: ModelRegistry;
  /** The tools that exist, handed to each step as its role's kit names them. */
  tools: ToolCatalog;
  logger: Logger;
  queue: JobQueue;
  announcer: Announcer;
  inflight: Inflight;
  /** The room under each cap this process holds for its steps' calls (see lease.ts). */
  leases: BudgetLeases;
  /** The steps this process runs at once (see stepSlots.ts). */
  stepSlots: StepSlots;
  /** How often a running step checks whether its orchestration was cancelled elsewhere. */
  watchIntervalMs: number;
}

/** The budget meter for a call of this orchestration, held for planning (`holder`) or for one step. */
export function meterFor(
  ctx: EngineContext,
  orchestrationId: OrchestrationId,
  holder: {
    name: string;
    late?: MeterContext['late'];
    onRequest?: MeterContext['onRequest'];
    model?: string | null;
  },
): MeterContext {
  const { llm, engine } = ctx.config;
  return {
    orchestrationId,
    // A dead process's step hold is known stale once its lease lapses (one lock lifetime): wait
    // longer than that. A planning hold older than a call can take was left behind.
    room: { maxWaitMs: 2 * engine.lockLifetimeMs + llm.timeoutMs, staleAfterMs: llm.timeoutMs + 60_000 },
    llm: holder.model ? ctx.models.llmFor(holder.model) : ctx.llm,
    pricer: holder.model ? ctx.models.pricerFor(holder.model) : ctx.pricer,
    holder: holder.name,
    warn: (line) => ctx.logger.warn(line),
    // A step's calls take their room from the process' lease: a hand-off then writes nothing for money.
    ...(holder.late ? { late: holder.late, lease: ctx.leases } : {}),
    ...(holder.onRequest ? { onRequest: holder.onRequest } : {}),
  };
}
