/**
 * No secret reaches a log line: a whole orchestration (a planning that fails, a proposal, approval,
 * a run through an LLM failure and a Slack failure, forged requests, the operators' dashboard) with
 * distinctive secrets in the config, and every line the app logged or the process wrote searched.
 */
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ActionIds, encodeControlValue } from '../../src/blocks/actionIds.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { CHANNEL, eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../helpers/signedRequests.js';

const SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-7731-4402-Kd8sP1qZrT5vWyQm',
  SLACK_SIGNING_SECRET: 'sigsec-Zq81Lm4Wd0Ux7Hc2Fb9Ej',
  OPENAI_API_KEY: 'sk-orch-9fJ2mQ7xLp4Rt8Vb3Nc6',
  ADMIN_PASSWORD: 'adm1n-Pw-Tq5Zr8Ys2Xv',
};
/** Each secret whole, and a middle part of it, so that a secret cut or half-masked is found too. */
const NEEDLES = Object.entries(SECRETS).flatMap(([name, value]) => [
  { name, needle: value },
  { name: `${name} (part)`, needle: value.slice(value.length - 14, value.length - 2) },
]);

let h: Harness;
const written: string[] = [];
const spies: MockInstance[] = [];

function capture(target: object, method: string) {
  const original = (target as Record<string, (...args: unknown[]) => unknown>)[method]!;
  const spy = vi.spyOn(target as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation(function (
    this: unknown,
    ...args: unknown[]
  ) {
    written.push(args.map((a) => (a instanceof Uint8Array ? Buffer.from(a).toString('utf8') : String(a))).join(' '));
    return original.apply(this, args);
  });
  spies.push(spy as unknown as MockInstance);
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) capture(stream, 'write');
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace']) capture(console, method);
  h = await startHarness({ ...SECRETS, ADMIN_USER: 'ops', LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await h?.stop();
  for (const spy of spies) spy.mockRestore();
});

const command = (text: string, cmd: string) =>
  sendSlashCommand(h.url, SECRETS.SLACK_SIGNING_SECRET, {
    text,
    user_id: REQUESTER,
    channel_id: CHANNEL,
    response_url: h.slack.responseUrl(cmd),
  });

describe('secrets', () => {
  it('appear in no log line and nothing the process writes, through failures of the LLM and of Slack', async () => {
    const good = scriptedResponder();
    let competitorCalls = 0;
    h.llm.responder = (req) => {
      if (req.toolName === 'propose_plan' && req.user.includes('A plan the model refuses')) {
        // What OpenAI says to a wrong key: the key masked, but named.
        return {
          status: 401,
          error: { message: 'Incorrect API key provided: sk-orch-****Nc6.', type: 'invalid_request_error' },
        };
      }
      if (req.user.includes('# Your ticket: Map the competitors') && competitorCalls++ === 0) {
        return { status: 503, error: { message: 'overloaded', type: 'server_error' } };
      }
      if (req.user.includes('# Your ticket: Compare pricing')) {
        return { status: 400, error: { message: 'context too long', type: 'invalid_request_error' } };
      }
      return good(req);
    };

    // A planning that fails on the LLM.
    expect((await command('A plan the model refuses', 'cmd-refused')).status).toBe(200);
    const refused = await eventually(
      () => Orchestration.findOne({ goal: 'A plan the model refuses', status: 'failed' }).lean(),
      20_000,
      'the failed planning',
    );

    // Forged and stale requests, which Bolt refuses and logs.
    const fields = { text: 'forged', user_id: REQUESTER, channel_id: CHANNEL, response_url: h.slack.responseUrl('x') };
    const forged = await sendSlashCommand(h.url, 'not-the-secret', fields);
    const stale = await sendSlashCommand(h.url, SECRETS.SLACK_SIGNING_SECRET, fields, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(stale.status).toBe(401);
    expect(forged.status).toBe(401);

    // A whole run: proposed, approved, a Slack failure on the team post, a ticket retried and one failed.
    const goal = 'Research the market for offline meeting recorders and write a positioning doc';
    expect((await command(goal, 'cmd-run')).status).toBe(200);
    const proposed = await eventually(
      () => Orchestration.findOne({ goal, status: 'proposed', messageTs: { $ne: null } }).lean(),
      20_000,
      'the proposal',
    );
    const id = String(proposed._id);
    h.slack.failNext('chat.postMessage', { error: 'internal_error' });
    const approve = await sendInteraction(
      h.url,
      SECRETS.SLACK_SIGNING_SECRET,
      blockActionPayload({
        userId: REQUESTER,
        channelId: CHANNEL,
        messageTs: proposed.messageTs!,
        actionId: ActionIds.approve,
        value: encodeControlValue({ orchestrationId: id as OrchestrationId, revision: proposed.revision }),
        responseUrl: h.slack.responseUrl('click-approve'),
      }),
    );
    expect(approve.status).toBe(200);
    await h.waitForEnd(id, 'completed', 40_000);

    // The operators' dashboard, with a wrong password and the right one.
    const admin = h.url.replace('/slack/events', '/admin/jobs/');
    const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
    expect((await fetch(admin, { headers: { authorization: basic('wrong-password-1') } })).status).toBe(401);
    expect((await fetch(admin, { headers: { authorization: basic(SECRETS.ADMIN_PASSWORD) } })).status).toBe(200);
    console.log('secrets.test marker: the console is captured');

    // The search can fail: the logs are there and name the orchestrations and their errors.
    const logged = h.logs.join('\n');
    expect(h.logs.length).toBeGreaterThan(50);
    expect(logged).toContain(String(refused._id));
    expect(logged).toContain(id);
    expect(logged).toContain('Incorrect API key provided');
    expect(logged).toMatch(/signature|authenticity|stale/i);
    expect(written.join('\n')).toContain('secrets.test marker');

    const found = (text: string) => NEEDLES.filter((n) => text.includes(n.needle)).map((n) => n.name);
    expect(h.logs.flatMap((line) => found(line).map((name) => `${name} in: ${line.slice(0, 300)}`))).toEqual([]);
    expect(written.flatMap((line) => found(line).map((name) => `${name} in: ${line.slice(0, 300)}`))).toEqual([]);
    // Nor sent anywhere it does not belong: to Slack (bar the bot token in its Authorization header) or the model.
    const toSlack = h.slack.calls.map((c) => JSON.stringify({ ...c.args, _auth: undefined }));
    expect(toSlack.flatMap(found)).toEqual([]);
    expect(h.llm.requests.flatMap((r) => found(JSON.stringify(r.body)))).toEqual([]);
  });
});
