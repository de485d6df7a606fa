/**
 * The thread posts a settled step is owed, and the cost rollup of a run: built from stored
 * records alone, so that a job re-run after a crash announces exactly what was stored.
 */

import type { KnownBlock } from '@slack/types';
import { encodeControlValue } from '../../blocks/actionIds.js';
import { followUpControls, rerunControls } from '../../blocks/afterRun.js';
import { declaredResultMessages } from '../../blocks/declaredResult.js';
import type { SlackMessage } from '../../blocks/proposal.js';
import { rollupMessage } from '../../blocks/rollup.js';
import { reviewActions } from '../../blocks/steering.js';
import { deliverableMessages, positionMessages, stepFailedMessage, stepResultMessages } from '../../blocks/thread.js';
import { Agent } from '../../models/agent.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { rollup } from '../money/rollup.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { storedOutputValue } from '../plan/outputs.js';
import { storedGaps, storedPosition } from '../plan/results.js';

export function durationOf(record: { startedAt: Date | null; finishedAt: Date | null }): number | null {
  if (!record.startedAt || !record.finishedAt) return null;
  return new Date(record.finishedAt).getTime() - new Date(record.startedAt).getTime();
}

/** `agentName`: as the step's prompt had it, when the caller knows it (else it is read). */
export async function stepMessages(step: StepDoc, agentName?: string): Promise<SlackMessage[]> {
  const messages = await resultMessages(step, agentName);
  if (!messages.length) return messages;
  const id = orchestrationIdOf({ _id: step.orchestrationId });
  const last = messages.at(-1)!;
  const withControls = (blocks: KnownBlock[]) => [
    ...messages.slice(0, -1),
    { ...last, blocks: [...last.blocks, ...blocks] },
  ];
  // A gated result carries its review controls, drawn for this result (a click on an older one is stale).
  if (step.review?.state === 'awaiting') {
    return withControls(
      reviewActions(encodeControlValue({ orchestrationId: id, revision: step.review.round, target: String(step._id) })),
    );
  }
  // A ticket's result can be run again once the run has ended; gaps in the deliverable can be followed up.
  if (step.kind === 'ticket') return withControls([rerunControls(id, String(step._id))]);
  if (step.kind === 'synthesis' && step.status === 'succeeded' && storedGaps(step.structured).length) {
    return withControls([followUpControls(id)]);
  }
  return messages;
}

async function resultMessages(step: StepDoc, knownName?: string): Promise<SlackMessage[]> {
  // A hand-off waits for these posts to be stored: one read fewer when the name is known.
  const agent = knownName === undefined && step.agentId ? await Agent.findById(step.agentId, { name: 1 }).lean() : null;
  const agentName = knownName ?? agent?.name ?? '';
  const figures = {
    costUsd: step.costUsd,
    durationMs: durationOf(step),
    model: step.model,
    toolCalls: step.toolCalls ?? [],
    citations: step.citations ?? [],
  };
  if (step.status === 'failed' && step.kind === 'ticket') {
    return [stepFailedMessage(step.title, agentName || null, step.error ?? 'unknown error', figures)];
  }
  if (step.status !== 'succeeded') return [];
  switch (step.kind) {
    case 'discuss': {
      const { position, risks } = storedPosition(step.structured, step.output);
      return positionMessages(step.title.replace(/^Position: /, ''), agentName, position, risks, figures);
    }
    case 'synthesis':
      return deliverableMessages(step.output ?? '', storedGaps(step.structured), figures, String(step.orchestrationId));
    case 'ticket': {
      const declared = step.declaredOutput ?? null;
      const value = declared ? storedOutputValue(declared, step.structured) : null;
      if (declared && value) return declaredResultMessages(step.title, agentName, declared, value, figures);
      return stepResultMessages(step.title, agentName, step.output ?? '', figures);
    }
    case 'research':
      return stepResultMessages(step.title, agentName, step.output ?? '', figures);
    default:
      return [];
  }
}

/** The run's cost table; what the steps do not account for was planning, by `planningModel`. */
export async function rollupMessageOf(doc: OrchestrationDoc, planningModel: string): Promise<SlackMessage> {
  const steps = await Step.find({ runId: doc.runId, kind: { $ne: 'done' } })
    .sort({ order: 1 })
    .lean<StepDoc[]>();
  const roleTitle = new Map((doc.proposal?.roles ?? []).map((r) => [r.key, r.title]));
  const rows = steps.map((s) => ({
    title: s.title,
    role: roleTitle.get(s.roleKey ?? '') ?? s.roleKey ?? '',
    model: s.model,
    status: s.status,
    tokens: s.tokens,
    costUsd: s.costUsd,
    durationMs: durationOf(s),
  }));
  return rollupMessage(rollup(rows, doc.budget.spentUsd, planningModel, doc.budget.leftBehindUsd));
}

/** The orchestration once the calls a cancel or a stop aborted have settled (a moment later), so that the figures add up. */
export async function settledOrchestration(doc: OrchestrationDoc): Promise<OrchestrationDoc> {
  let settled = (await Orchestration.findById(doc._id).lean<OrchestrationDoc>()) ?? doc;
  let waited = false;
  for (let i = 0; i < 30 && settled.budget.reservedUsd > 1e-9; i++) {
    waited = true;
    await new Promise((r) => setTimeout(r, 100));
    settled = (await Orchestration.findById(doc._id).lean<OrchestrationDoc>()) ?? settled;
  }
  // Each call's share is booked on its step right after its hold is settled: give those a moment.
  if (waited) await new Promise((r) => setTimeout(r, 150));
  return settled;
}
