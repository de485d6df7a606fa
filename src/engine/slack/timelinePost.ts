/**
 * The picture of a finished run, as a file for its thread: the steps on a time axis, coloured by
 * state, with the critical path marked (drawn by engine/watch).
 */
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import type { FilePayload } from '../../models/slackPost.js';
import { SHOWN_STEP_STATE } from '../plan/status.js';
import { timelineSvg } from '../watch/timeline.js';
import { renderPngOffThread } from '../watch/timelinePng.js';

export async function timelinePost(doc: OrchestrationDoc): Promise<FilePayload | null> {
  if (!doc.runId) return null;
  const steps = await Step.find({ runId: doc.runId, kind: { $ne: 'done' } })
    .sort({ order: 1 })
    .lean<StepDoc[]>();
  if (!steps.length) return null;
  const roleTitle = new Map((doc.proposal?.roles ?? []).map((r) => [r.key, r.title]));
  const svg = timelineSvg(
    steps.map((s) => ({
      key: s.key,
      title: s.title,
      role: roleTitle.get(s.roleKey ?? '') ?? s.roleKey ?? '',
      state: SHOWN_STEP_STATE[s.status],
      startedAt: s.startedAt ? new Date(s.startedAt).getTime() : null,
      finishedAt: s.finishedAt ? new Date(s.finishedAt).getTime() : null,
      costUsd: s.costUsd,
      dependsOn: s.dependsOn,
    })),
    {
      title: `Timeline: ${doc.goal.slice(0, 80)}`,
      now: doc.finishedAt ? new Date(doc.finishedAt).getTime() : Date.now(),
    },
  );
  // Off the event loop: it would stall every run's hand-offs right as this one ends.
  const png = await renderPngOffThread(svg);
  return {
    filename: 'timeline.png',
    title: 'Run timeline',
    base64: png.toString('base64'),
    altText: `Timeline of ${steps.length} steps: bars on a time axis coloured by state, the critical path outlined`,
  };
}
