/**
 * Boots the real service in Socket Mode for end-to-end tests: SLACK_APP_TOKEN set, the fake Slack
 * Web API answering apps.connections.open with a WebSocket on 127.0.0.1 (fakeSocketMode.ts), the
 * embedded database and the fake OpenAI server. The HTTP harness's settings and helpers are reused,
 * so the two modes differ only in how Slack reaches the app.
 */
import { randomBytes } from 'node:crypto';
import { type Config, loadConfig } from '../../src/config.js';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { type RunningService, startService } from '../../src/server.js';
import { FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { FakeSlack } from '../fakes/fakeSlack.js';
import { FakeSocketMode, type SocketAck } from '../fakes/fakeSocketMode.js';
import {
  blocksText,
  CHANNEL,
  captureLogger,
  eventually,
  findButton,
  harnessEnv,
  REQUESTER,
  scriptedResponder,
} from './harness.js';
import { blockActionPayload, viewSubmissionPayload } from './signedRequests.js';

export const APP_TOKEN = 'xapp-1-A1-test-app-token';

export interface SocketHarness {
  slack: FakeSlack;
  socket: FakeSocketMode;
  llm: FakeOpenAI;
  service: RunningService;
  config: Config;
  mongo: EmbeddedServer;
  logs: string[];
  /** /orchestrate as a slash_commands envelope; resolves with the app's ack. */
  command(text: string, userId?: string): Promise<SocketAck>;
  /** A button click as an interactive block_actions envelope; resolves with the app's ack. */
  click(actionId: string, value: string, userId?: string, messageTs?: string): Promise<SocketAck>;
  /** A modal submission as an interactive view_submission envelope; resolves with the app's ack. */
  submit(
    callbackId: string,
    privateMetadata: string,
    values: Record<string, Record<string, unknown>>,
    userId?: string,
  ): Promise<SocketAck>;
  /** Runs /orchestrate and waits until the proposal message is posted; returns its ack, ts and control value. */
  propose(goal?: string): Promise<{ ack: SocketAck; ts: string; value: string; orchestrationId: string }>;
  stop(): Promise<void>;
}

export async function startSocketHarness(env: Record<string, string> = {}): Promise<SocketHarness> {
  const slack = new FakeSlack({ botToken: 'xoxb-test-token' });
  const socket = new FakeSocketMode({ appToken: APP_TOKEN });
  slack.useSocketMode(socket);
  const llm = new FakeOpenAI(scriptedResponder());
  await Promise.all([slack.start(), socket.start(), llm.start()]);
  const mongo = await startEmbeddedMongo();
  const config = loadConfig({ ...harnessEnv(slack, llm, mongo.uri), SLACK_APP_TOKEN: APP_TOKEN, ...env });
  const logs: string[] = [];
  const service = await startService(config, { logger: captureLogger(logs), watchIntervalMs: 100 });
  let commandCount = 0;

  const harness: SocketHarness = {
    slack,
    socket,
    llm,
    service,
    config,
    mongo,
    logs,
    command: (text, userId = REQUESTER) =>
      socket.request('slash_commands', {
        token: 'legacy-token',
        team_id: 'T1',
        team_domain: 'fake',
        channel_id: CHANNEL,
        channel_name: 'general',
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: '/orchestrate',
        text,
        api_app_id: 'A1',
        is_enterprise_install: 'false',
        response_url: slack.responseUrl(`cmd-${++commandCount}`),
        trigger_id: randomBytes(6).toString('hex'),
      }),
    click: (actionId, value, userId = REQUESTER, messageTs = '1.0') =>
      socket.request(
        'interactive',
        blockActionPayload({
          userId,
          channelId: CHANNEL,
          messageTs,
          actionId,
          value,
          responseUrl: slack.responseUrl(`click-${userId}-${actionId}`),
        }) as Record<string, any>,
      ),
    submit: (callbackId, privateMetadata, values, userId = REQUESTER) =>
      socket.request(
        'interactive',
        viewSubmissionPayload({ userId, callbackId, privateMetadata, values }) as Record<string, any>,
      ),
    async propose(
      goal = 'Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc',
    ) {
      const before = slack.callsTo('chat.postMessage').length;
      const ack = await harness.command(goal);
      const posted = await slack.waitFor(
        (c) =>
          c.method === 'chat.postMessage' &&
          !c.args.thread_ts &&
          slack.callsTo('chat.postMessage').indexOf(c) >= before,
      );
      const value = findButton(posted, 'orchestrate.approve')?.value;
      if (!value) throw new Error(`the proposal has no Approve button: ${blocksText(posted).slice(0, 500)}`);
      const orchestrationId = JSON.parse(value).orchestrationId as string;
      const ts = await eventually(
        async () => (await Orchestration.findById(orchestrationId, { messageTs: 1 }).lean())?.messageTs,
        5000,
        'the proposal ts',
      );
      return { ack, ts, value, orchestrationId };
    },
    async stop() {
      await service.stop();
      await mongo.stop();
      await Promise.all([slack.stop(), socket.stop(), llm.stop()]);
    },
  };
  return harness;
}
