/**
 * The caller's open orchestrations (`/orchestrate status`), and cancelling one of them by a link
 * to its proposal message or by its id (`/orchestrate cancel`), through the same cancel as the
 * proposal's Cancel button: the same rights, the same outcome for a run already over.
 */
import type { WebClient } from '@slack/web-api';
import { channelLink } from '../../blocks/home.js';
import { OPEN_RUNS_SHOWN, type OpenRun, openRunsMessage } from '../../blocks/openRuns.js';
import { cancelledByCommand, NO_SUCH_ORCHESTRATION } from '../../blocks/replies.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { ACTIVE_STATUSES } from '../plan/status.js';
import { cancelOrchestration } from './cancel.js';
import { type Reply, text } from './guard.js';
import type { OrchestrationRef } from './orchestrationRef.js';

/** How long a permalink may take before the channel's link stands in: the answer should not wait on it. */
const PERMALINK_WAIT_MS = 2500;

type PermalinkClient = { chat: Pick<WebClient['chat'], 'getPermalink'> };

/** The proposal message's permalink from Slack, else the channel's link; null while there is no message. */
export async function proposalLink(
  client: PermalinkClient,
  doc: Pick<OrchestrationDoc, 'channelId' | 'messageTs' | 'slackTeamId'>,
  onError: (error: unknown) => void = () => undefined,
): Promise<OpenRun['link']> {
  if (!doc.messageTs) return null;
  const fallback = {
    url: channelLink({ channelId: doc.channelId, teamId: doc.slackTeamId ?? null }),
    to: 'channel' as const,
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), PERMALINK_WAIT_MS);
    });
    const answer = await Promise.race([
      client.chat.getPermalink({ channel: doc.channelId, message_ts: doc.messageTs }),
      timeout,
    ]);
    const url = answer?.permalink;
    return typeof url === 'string' && /^https:\/\//.test(url) ? { url, to: 'message' } : fallback;
  } catch (error) {
    onError(error);
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}

/** The person's open orchestrations, newest first, with links. */
export async function openRunsReply(services: Services, client: PermalinkClient, userId: string): Promise<Reply> {
  const filter = { requesterId: userId, status: { $in: ACTIVE_STATUSES } };
  const [docs, total] = await Promise.all([
    Orchestration.find(filter, {
      goal: 1,
      status: 1,
      budget: 1,
      channelId: 1,
      slackTeamId: 1,
      messageTs: 1,
      paused: 1,
      createdAt: 1,
    })
      .sort({ createdAt: -1, _id: -1 })
      .limit(OPEN_RUNS_SHOWN)
      .lean<OrchestrationDoc[]>(),
    Orchestration.countDocuments(filter),
  ]);
  const onError = (error: unknown) => services.logger.debug(`no permalink for a proposal: ${describeError(error)}`);
  const links = await Promise.all(docs.map((doc) => proposalLink(client, doc, onError)));
  const runs = docs.map((doc, i) => ({
    orchestrationId: orchestrationIdOf(doc),
    goal: doc.goal,
    status: doc.status,
    spentUsd: doc.budget.spentUsd,
    maxUsd: doc.budget.maxUsd,
    createdAt: new Date(doc.createdAt),
    channelId: doc.channelId,
    link: links[i] ?? null,
    paused: Boolean(doc.paused),
  }));
  return openRunsMessage({ runs, total, now: new Date() });
}

async function findByRef(ref: OrchestrationRef): Promise<OrchestrationDoc | null> {
  const projection = { goal: 1, revision: 1, status: 1 };
  return ref.kind === 'id'
    ? Orchestration.findById(ref.id, projection).lean<OrchestrationDoc>()
    : Orchestration.findOne(
        { channelId: ref.channelId, messageTs: ref.messageTs },
        projection,
      ).lean<OrchestrationDoc>();
}

export interface CancelRequest {
  ref: OrchestrationRef;
  userId: string;
  botUserId: string | undefined;
}

/** Cancels the orchestration the link or id names, when the caller may; says what happened either way. */
export async function cancelByRef(services: Services, request: CancelRequest): Promise<Reply> {
  const doc = await findByRef(request.ref);
  if (!doc) return text(NO_SUCH_ORCHESTRATION);
  // Any revision may cancel: the command names the orchestration, not a revision of its plan.
  const refused = await cancelOrchestration(services, {
    control: { orchestrationId: orchestrationIdOf(doc), revision: doc.revision },
    userId: request.userId,
    botUserId: request.botUserId,
  });
  return refused ?? text(cancelledByCommand(doc.goal));
}
