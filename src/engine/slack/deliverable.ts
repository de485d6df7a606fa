/**
 * Keeping the deliverable whole: when it is longer than one message, it is also kept as a canvas
 * in the channel, or, where the workspace's plan refuses canvases, as a Markdown file in the
 * thread; the thread links to it. Done once: where it was kept is stored on the orchestration.
 */

import { neutralizeMentions } from '../../blocks/text.js';
import { deliverableKeptMessage, deliverableMarkdown, MARKDOWN_CHUNK } from '../../blocks/thread.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { Announcer } from './announcer.js';
import { classifyFailure } from './slackCalls.js';

/** Canvas refusals that mean "not on this plan, or not with these scopes": keep it as a file instead. */
const NO_CANVAS = new Set([
  'free_teams_cannot_create_non_tabbed_canvases',
  'team_tier_cannot_create_channel_canvases',
  'missing_scope',
  'not_allowed',
  'not_allowed_token_type',
  'canvas_disabled_user_team',
  'channel_canvas_already_exists',
]);

/** Whether a deliverable is longer than one message: only then is it kept whole elsewhere. */
export function needsKeeping(markdown: string, gaps: string[]): boolean {
  return neutralizeMentions(deliverableMarkdown(markdown, gaps)).length > MARKDOWN_CHUNK;
}

export async function keepDeliverable(
  announcer: Announcer,
  logger: Logger,
  target: Pick<OrchestrationDoc, '_id'>,
): Promise<void> {
  const doc = await Orchestration.findById(target._id).lean<OrchestrationDoc>();
  if (!doc?.deliverable || doc.deliverable.keptAs) return;
  if (!needsKeeping(doc.deliverable.markdown, doc.deliverable.gaps)) return;
  const markdown = deliverableMarkdown(doc.deliverable.markdown, doc.deliverable.gaps);
  const id = String(doc._id);
  const canvas = await createCanvas(announcer, logger, doc, markdown);
  if (canvas) {
    await Orchestration.updateOne(
      { _id: doc._id },
      { $set: { 'deliverable.keptAs': { kind: 'canvas', id: canvas.id } } },
    );
    await announcer.post(doc, [{ key: `${id}:kept`, message: deliverableKeptMessage('canvas', canvas.link) }]);
    return;
  }
  await Orchestration.updateOne({ _id: doc._id }, { $set: { 'deliverable.keptAs': { kind: 'file', id: null } } });
  await announcer.post(doc, [
    { key: `${id}:kept`, message: deliverableKeptMessage('file', null) },
    {
      key: `${id}:kept:file`,
      file: {
        filename: 'deliverable.md',
        title: 'The deliverable',
        base64: Buffer.from(markdown, 'utf8').toString('base64'),
      },
    },
  ]);
}

/** A canvas in the channel: the channel's own canvas, or else a canvas shared to it. Null when refused. */
async function createCanvas(announcer: Announcer, logger: Logger, doc: OrchestrationDoc, markdown: string) {
  const content = { type: 'markdown' as const, markdown: `# ${doc.goal.slice(0, 200)}\n\n${markdown}` };
  const attempts = [
    () => announcer.client.conversations.canvases.create({ channel_id: doc.channelId, document_content: content }),
    () =>
      announcer.client.canvases.create({
        title: doc.goal.slice(0, 100),
        document_content: content,
        channel_id: doc.channelId,
      }),
  ];
  for (const attempt of attempts) {
    try {
      const res = (await attempt()) as { canvas_id?: string };
      if (!res.canvas_id) continue;
      const link = doc.slackTeamId ? `https://app.slack.com/docs/${doc.slackTeamId}/${res.canvas_id}` : null;
      return { id: res.canvas_id, link };
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure.kind !== 'refused') throw error; // Slack unavailable: the job tries again
      if (!NO_CANVAS.has(failure.reason)) logger.warn(`could not create a canvas: ${describeError(error)}`);
    }
  }
  return null;
}
