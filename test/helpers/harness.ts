/**
 * Boots the real service for end-to-end tests: the Bolt app over HTTP on 127.0.0.1, the embedded
 * database, a fake Slack Web API and a fake OpenAI-compatible server, wired only through config.
 */
import { type Config, loadConfig } from '../../src/config.js';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { type RunningService, startService } from '../../src/server.js';
import { FakeOpenAI, type RecordedRequest } from '../fakes/fakeOpenAI.js';
import { FakeSlack, type SlackCall } from '../fakes/fakeSlack.js';
import { sampleProposal } from '../fixtures.js';
import { captureLogger } from './captureLogger.js';
import {
  blockActionPayload,
  type SlackHttpResponse,
  sendInteraction,
  sendSlashCommand,
  viewSubmissionPayload,
} from './signedRequests.js';

export const SIGNING_SECRET = 'test-signing-secret';
export const REQUESTER = 'U_REQUESTER';
export const APPROVER = 'UAPPROVER1';
export const CHANNEL = 'C_GENERAL';

export interface Harness {
  slack: FakeSlack;
  llm: FakeOpenAI;
  service: RunningService;
  config: Config;
  url: string;
  mongo: EmbeddedServer;
  logs: string[];
  command(text: string, userId?: string): Promise<SlackHttpResponse>;
  /** The response_url id of the latest command (`cmd-N`): where its late answers land. */
  lastCommandResponseId(): string;
  click(actionId: string, value: string, userId?: string, messageTs?: string): Promise<SlackHttpResponse>;
  submit(
    callbackId: string,
    privateMetadata: string,
    values: Record<string, Record<string, unknown>>,
    userId?: string,
  ): Promise<SlackHttpResponse>;
  /**
   * Waits until the orchestration has ended with `status` and the engine has finished ending it:
   * the closing thread post (and, for a run, its cost rollup) is the last thing it does.
   */
  waitForEnd(
    orchestrationId: string,
    status: 'completed' | 'failed' | 'cancelled',
    timeoutMs?: number,
  ): Promise<OrchestrationDoc>;
  /** Runs /orchestrate and waits until the proposal message is posted; returns its ts and control value. */
  propose(goal?: string): Promise<{ ts: string; value: string; orchestrationId: string }>;
  stop(): Promise<void>;
}

/** What a scripted crew answers: the shape both fake LLM servers take. */
export type ScriptedReply = { tool: string; args: unknown } | { text: string };

/** The default scripted LLM: a plan, positions, ticket results and a synthesis, keyed by tool. */
export function scriptedResponder(proposal: Proposal = sampleProposal()) {
  return (req: Pick<RecordedRequest, 'toolName' | 'user'>): ScriptedReply => {
    if (req.toolName === 'propose_plan') return { tool: 'propose_plan', args: proposal };
    if (req.toolName === 'state_position') {
      const role = /As (.+?), call/.exec(req.user)?.[1] ?? 'someone';
      return { tool: 'state_position', args: { position: `Position of ${role}`, risks: [`Risk seen by ${role}`] } };
    }
    if (req.toolName === 'deliver_synthesis') {
      return { tool: 'deliver_synthesis', args: { deliverable: '# Positioning doc\nWe win offline.', gaps: [] } };
    }
    const ticket = /# Your ticket: (.+)/.exec(req.user)?.[1];
    return { text: ticket ? `Result of ${ticket}` : 'Research findings' };
  };
}

/** The settings that wire the app to the fakes and a database, and nothing else. */
export function testEnv(slack: FakeSlack, llm: FakeOpenAI, mongoUri: string): Record<string, string> {
  return {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.url,
    PORT: '0',
    MONGODB_URI: mongoUri,
    OPENAI_API_KEY: 'sk-test-key-not-real',
    OPENAI_BASE_URL: llm.url,
    // Questions before planning add a call to every plan; the tests that are about them turn them on.
    ORCHESTRATE_CLARIFY: 'off',
  };
}

/**
 * Settings for budget tests, whose figures are easy to follow: the model "metered-model" bills
 * output at $1 a token, and no call (planning included) may write more than 10, so the output
 * part of any call's worst case is exactly $10.
 */
export function meteredEnv({
  inputPerMTok,
  defaultBudgetUsd,
}: {
  inputPerMTok: number;
  defaultBudgetUsd: number;
}): Record<string, string> {
  return {
    LLM_MODEL: 'metered-model',
    ORCHESTRATE_PRICES: JSON.stringify({ 'metered-model': { inputPerMTok, outputPerMTok: 1_000_000 } }),
    LLM_MAX_OUTPUT_TOKENS: '10',
    LLM_PLAN_MAX_OUTPUT_TOKENS: '10',
    ORCHESTRATE_DEFAULT_BUDGET_USD: String(defaultBudgetUsd),
    ORCHESTRATE_MAX_BUDGET_USD: '100',
  };
}

/** What an in-process harness runs with: the fakes, an approver, quick retries and polls, and Slack unpaced. */
export function harnessEnv(slack: FakeSlack, llm: FakeOpenAI, mongoUri: string): Record<string, string> {
  return {
    ...testEnv(slack, llm, mongoUri),
    ORCHESTRATE_APPROVERS: APPROVER,
    ORCHESTRATE_RETRY_BASE_MS: '20',
    ORCHESTRATE_PROCESS_EVERY_MS: '500',
    // Slack's own pace (a post a second per channel) would make every test wait; tests of pacing set it.
    ORCHESTRATE_SLACK_PACE_MS: '0',
    ORCHESTRATE_SLACK_COALESCE_MS: '0',
    LOG_LEVEL: 'warn',
  };
}

export async function startHarness(
  env: Record<string, string> = {},
  options: { watchIntervalMs?: number } = {},
): Promise<Harness> {
  // Files people share are served to the app's own bot token only.
  const slack = new FakeSlack({ botToken: 'xoxb-test-token' });
  const llm = new FakeOpenAI(scriptedResponder());
  await Promise.all([slack.start(), llm.start()]);
  const mongo = await startEmbeddedMongo();
  const config = loadConfig({ ...harnessEnv(slack, llm, mongo.uri), ...env });
  const logs: string[] = [];
  const logger = captureLogger(logs);
  const service = await startService(config, { logger, watchIntervalMs: options.watchIntervalMs ?? 100 });
  const url = `http://127.0.0.1:${service.port}/slack/events`;
  let commandCount = 0;

  const harness: Harness = {
    slack,
    llm,
    service,
    config,
    url,
    mongo,
    logs,
    command: (text, userId = REQUESTER) =>
      sendSlashCommand(url, SIGNING_SECRET, {
        text,
        user_id: userId,
        channel_id: CHANNEL,
        response_url: slack.responseUrl(`cmd-${++commandCount}`),
      }),
    lastCommandResponseId: () => `cmd-${commandCount}`,
    click: (actionId, value, userId = REQUESTER, messageTs = '1.0') =>
      sendInteraction(
        url,
        SIGNING_SECRET,
        blockActionPayload({
          userId,
          channelId: CHANNEL,
          messageTs,
          actionId,
          value,
          responseUrl: slack.responseUrl(`click-${userId}-${actionId}`),
        }),
      ),
    submit: (callbackId, privateMetadata, values, userId = REQUESTER) =>
      sendInteraction(url, SIGNING_SECRET, viewSubmissionPayload({ userId, callbackId, privateMetadata, values })),
    async waitForEnd(orchestrationId, status, timeoutMs = 20_000) {
      const doc = await waitForStatus(orchestrationId, status, timeoutMs);
      if (!doc.messageTs) return doc;
      const endings = doc.transitions.filter((t) => ['completed', 'failed', 'cancelled'].includes(t.to)).length;
      const marker = doc.runId ? 'Cost rollup' : /:tada: \*Completed\*|:x: \*Failed\*|:no_entry_sign: \*Cancelled\*/;
      await eventually(
        () =>
          slack
            .callsTo('chat.postMessage')
            .filter(
              (c) =>
                c.args.thread_ts === doc.messageTs &&
                (typeof marker === 'string' ? blocksText(c).includes(marker) : marker.test(blocksText(c))),
            ).length >= endings,
        timeoutMs,
        `the closing posts of a ${status} orchestration`,
      );
      return (await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>())!;
    },
    async propose(
      goal = 'Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc',
    ) {
      const before = slack.callsTo('chat.postMessage').length;
      const res = await harness.command(goal);
      if (res.status !== 200) throw new Error(`command answered ${res.status}`);
      // This goal's proposal: another request's may be posted meanwhile.
      const head = goal.slice(0, 40).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      const posted = await slack.waitFor(
        (c) =>
          c.method === 'chat.postMessage' &&
          !c.args.thread_ts &&
          slack.callsTo('chat.postMessage').indexOf(c) >= before &&
          findButton(c, 'orchestrate.approve') !== undefined &&
          blocksText(c).includes(head),
      );
      const value = findButton(posted, 'orchestrate.approve')?.value;
      if (!value) throw new Error(`the proposal has no Approve button: ${blocksText(posted).slice(0, 500)}`);
      const orchestrationId = JSON.parse(value).orchestrationId as string;
      const ts = await eventually(
        async () => (await Orchestration.findById(orchestrationId, { messageTs: 1 }).lean())?.messageTs,
        5000,
        'the proposal ts',
      );
      return { ts, value, orchestrationId };
    },
    async stop() {
      await service.stop();
      await mongo.stop();
      await Promise.all([slack.stop(), llm.stop()]);
    },
  };
  return harness;
}

/** Waits until the orchestration is in `status`; returns it. */
export function waitForStatus(
  orchestrationId: string,
  status: OrchestrationDoc['status'],
  timeoutMs = 20_000,
): Promise<OrchestrationDoc> {
  return eventually(
    async () => {
      const d = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
      return d?.status === status ? d : null;
    },
    timeoutMs,
    `status ${status}`,
  );
}

export function findButton(call: SlackCall, actionId: string): { value: string; action_id: string } | undefined {
  const blocks = (call.args.blocks ?? []) as any[];
  for (const b of blocks) {
    for (const el of [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])]) {
      if (el.action_id === actionId) return el;
    }
  }
  return undefined;
}

export function blocksText(call: SlackCall | undefined): string {
  return JSON.stringify(call?.args.blocks ?? []);
}

export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { captureLogger };
