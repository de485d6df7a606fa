/**
 * A claimed step executed under watch: aborted should its orchestration be closed elsewhere
 * (another instance), every call booked on the step as it settles, and what it retrieved kept
 * with its result.
 */
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Orchestration } from '../../models/orchestration.js';
import type { StepDoc } from '../../models/run.js';
import { stepAddenda } from '../llm/stepContext.js';
import { roleKitOf } from '../plan/choices.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { RUNNING_STATUSES } from '../plan/status.js';
import type { DraftStream } from '../slack/draftStream.js';
import { RunSourceLedger } from '../tools/sources.js';
import { type EngineContext, meterFor } from './context.js';
import { executeStep, type PromptInputs } from './executeStep.js';
import { StepBooking } from './stepBooking.js';

/** How long a request takes to leave once the call starts (the client built, the body written), on a busy loop. */
const REQUEST_LEAVES_MS = 20;

/** Executes the step while a watch aborts it should its orchestration be closed elsewhere (another instance). */
export async function executeWatched(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  signal: AbortSignal,
  draft: DraftStream | null,
  inputs?: Promise<PromptInputs>,
) {
  const id = orchestrationIdOf(doc);
  const kit = roleKitOf(doc.proposal!, step.roleKey);
  const model = kit.model ?? ctx.models.defaultModel;
  // What this step retrieves (search results seen, pages read), kept with its result so that
  // citations can be checked against what the run really read.
  const ledger = new RunSourceLedger();
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort(), { once: true });
  const watch = setInterval(() => {
    Orchestration.findById(id, { status: 1 })
      .lean()
      .then((o) => {
        if (!o || !RUNNING_STATUSES.includes(o.status)) controller.abort();
      })
      .catch(() => undefined);
  }, ctx.watchIntervalMs);
  // Every call (retries and repairs included) is booked on its step, the last one with its result.
  const booking = new StepBooking(step._id, model);
  try {
    const { tools: settings } = ctx.config;
    const outcome = await executeStep(doc.proposal!, step, {
      meter: meterFor(ctx, id, {
        name: `step:${String(step._id)}`,
        late: booking,
        model: kit.model,
        // The request is on its way (written within a few ms): the hand-off that led here is over.
        onRequest: () => ctx.announcer.foreground.hold(`start:${String(step._id)}`, REQUEST_LEAVES_MS),
      }),
      signal: controller.signal,
      maxTokens: ctx.config.llm.maxOutputTokens,
      attempts: ctx.config.engine.stepAttempts,
      retryBaseMs: ctx.config.engine.retryBaseMs,
      addedContext: stepAddenda(doc, step.startedAt, settings.contextMaxChars),
      tools: ctx.tools.forStep({ orchestrationId: id, ledger, signal: controller.signal }, kit.tools),
      toolLimits: {
        maxToolCalls: settings.maxToolCalls,
        resultMaxChars: settings.resultMaxChars,
        timeLimitMs: settings.stepTimeLimitMs,
      },
      ...(draft ? { onDraft: (partial: string) => draft.update(partial) } : {}),
      ...(inputs ? { inputs } : {}),
    });
    return { ...outcome, retrieved: ledger.entries(), booking };
  } catch (error) {
    // Settled as failed, or retried: either way with every call booked first.
    await booking.flush();
    throw error;
  } finally {
    clearInterval(watch);
  }
}
