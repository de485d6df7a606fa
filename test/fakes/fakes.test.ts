/**
 * Tests for the test fakes themselves: FakeSlack against the real WebClient, FakeOpenAI against the
 * real ChatOpenAI, and the Slack request signature helper against an independently computed vector.
 */
import { createHmac } from 'node:crypto';
import { ChatOpenAI } from '@langchain/openai';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signSlackBody } from '../helpers/signedRequests.js';
import { FakeOpenAI } from './fakeOpenAI.js';
import { FakeSlack } from './fakeSlack.js';

describe('FakeSlack with WebClient', () => {
  const fake = new FakeSlack({ botUserId: 'UBOT2', teamId: 'T9' });
  let client: WebClient;

  beforeAll(async () => {
    await fake.start();
    client = new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
  });
  afterAll(() => fake.stop());

  it('serves auth.test with the configured identity and records the token', async () => {
    fake.reset();
    const auth = await client.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: 'UBOT2', team_id: 'T9', bot_id: 'BBOT' });
    expect(fake.callsTo('auth.test')[0]?.args._auth).toBe('xoxb-test');
  });

  it('answers chat.postMessage with increasing ts and records blocks parsed', async () => {
    fake.reset();
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }];
    const first = await client.chat.postMessage({ channel: 'C1', text: 'one', blocks });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'two' });
    expect(first.ok).toBe(true);
    expect(first.channel).toBe('C1');
    expect(first.message?.text).toBe('one');
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    const calls = fake.callsTo('chat.postMessage');
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args.blocks).toEqual(blocks);
    expect(calls[0]?.args.channel).toBe('C1');
    expect(calls[0]?.args._auth).toBe('xoxb-test');
  });

  it('refuses 51 blocks with invalid_blocks and still records the call', async () => {
    fake.reset();
    const blocks = Array.from({ length: 51 }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `b${i}` } }));
    const error = await client.chat.postMessage({ channel: 'C1', text: 'too many', blocks }).catch((e: unknown) => e);
    expect((error as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage')[0]?.response).toMatchObject({ ok: false, error: 'invalid_blocks' });
  });

  it('refuses over-long section text, header text and button text', async () => {
    fake.reset();
    const cases = [
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
      [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }],
      [{ type: 'actions', elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'x'.repeat(76) } }] }],
      [{ type: 'actions', elements: [{ type: 'button', action_id: 'a'.repeat(256), text: { type: 'plain_text', text: 'ok' } }] }],
      [{ type: 'actions', elements: [{ type: 'button', action_id: 'a', value: 'v'.repeat(2001), text: { type: 'plain_text', text: 'ok' } }] }],
    ];
    for (const blocks of cases) {
      const error = await client.chat.update({ channel: 'C1', ts: '1.0', text: 't', blocks }).catch((e: unknown) => e);
      expect((error as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    }
    const ok = await client.chat.update({ channel: 'C1', ts: '1.0', text: 'fine', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3000) } }] });
    expect(ok).toMatchObject({ ok: true, channel: 'C1', ts: '1.0', text: 'fine' });
  });

  it('failNext makes exactly one call fail with the given error', async () => {
    fake.reset();
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    const error = await client.chat.postMessage({ channel: 'C404', text: 'hi' }).catch((e: unknown) => e);
    expect((error as { data?: { error?: string } }).data?.error).toBe('channel_not_found');
    const next = await client.chat.postMessage({ channel: 'C1', text: 'hi again' });
    expect(next.ok).toBe(true);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('failNext with rateLimitedSeconds answers 429 with Retry-After', async () => {
    fake.reset();
    fake.failNext('chat.postMessage', { rateLimitedSeconds: 7 });
    const res = await fetch(`${fake.url}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"channel":"C1","text":"x"}' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('validates views and numbers them', async () => {
    fake.reset();
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Edit' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: 't', view });
    expect(opened.view?.id).toMatch(/^V\d+$/);
    const tooLong = await client.views.open({ trigger_id: 't', view: { ...view, title: { type: 'plain_text', text: 'x'.repeat(25) } } }).catch((e: unknown) => e);
    expect((tooLong as { data?: { error?: string } }).data?.error).toBe('invalid_arguments');
    expect(fake.callsTo('views.open')[1]?.args.view.title.text).toHaveLength(25);
    const updated = await client.views.update({ view_id: opened.view!.id!, view });
    expect(updated.view?.id).toBe(opened.view?.id);
  });

  it('records response_url posts and resolves waitFor for past and future calls', async () => {
    fake.reset();
    const future = fake.waitFor((c) => c.method === 'response_url' && c.args._responseId === 'r/1');
    const res = await fetch(fake.responseUrl('r/1'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done', replace_original: true }) });
    expect(await res.json()).toEqual({ ok: true });
    const call = await future;
    expect(call.args).toMatchObject({ text: 'done', replace_original: true, _responseId: 'r/1' });
    await expect(fake.waitFor((c) => c.method === 'response_url')).resolves.toBe(call);
    await expect(fake.waitFor((c) => c.method === 'never', 50)).rejects.toThrow(/response_url/);
  });
});

describe('FakeOpenAI with ChatOpenAI', () => {
  const fake = new FakeOpenAI();
  const model = () => new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test', configuration: { baseURL: fake.url }, maxRetries: 0 });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  it('answers text with usage_metadata', async () => {
    fake.reset();
    fake.responder = () => ({ text: 'Hello there', usage: { input: 12, output: 3, cached: 5 } });
    const reply = await model().invoke([
      ['system', 'Be brief.'],
      ['human', 'Say hello'],
    ]);
    expect(reply.content).toBe('Hello there');
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 12, output_tokens: 3, total_tokens: 15 });
    expect(reply.usage_metadata?.input_token_details?.cache_read).toBe(5);
    const request = fake.requests[0]!;
    expect(request.system).toBe('Be brief.');
    expect(request.user).toBe('Say hello');
    expect(request.toolName).toBeNull();
    expect(request.body.model).toBe('gpt-4o-mini');
    expect(request.endedAt).not.toBeNull();
    expect(request.aborted).toBe(false);
  });

  it('estimates usage from characters when none is given', async () => {
    fake.reset();
    fake.responder = () => ({ text: 'abcde' });
    const reply = await model().invoke('12345678');
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 2, output_tokens: 2 });
  });

  it('streams the same content with usage', async () => {
    fake.reset();
    fake.responder = () => ({ text: 'streamed answer', usage: { input: 4, output: 2 } });
    let text = '';
    let usage: unknown;
    for await (const chunk of await model().stream('hi')) {
      text += String(chunk.content);
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
    }
    expect(text).toBe('streamed answer');
    expect(usage).toMatchObject({ input_tokens: 4, output_tokens: 2 });
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it('answers a structured-output tool call with the scripted args', async () => {
    fake.reset();
    const schema = z.object({ position: z.string(), risks: z.array(z.string()) });
    const args = { position: 'Go offline-first', risks: ['sync conflicts'] };
    fake.responder = (req) => (req.toolName === 'state_position' ? { tool: 'state_position', args } : { text: 'wrong' });
    const structured = model().withStructuredOutput(schema, { name: 'state_position', method: 'functionCalling', includeRaw: true });
    const result = await structured.invoke('State your position');
    expect(result.parsed).toEqual(args);
    expect(fake.requests[0]?.toolName).toBe('state_position');
    expect(fake.requests[0]?.body.tools?.[0]?.function?.name).toBe('state_position');
  });

  it('rejects on an HTTP 500 reply, and the default responder refuses tool calls with a 500', async () => {
    fake.reset();
    fake.responder = () => ({ status: 500, error: { message: 'boom', type: 'server_error' } });
    await expect(model().invoke('hi')).rejects.toThrow(/boom/);

    fake.responder = new FakeOpenAI().responder;
    const structured = model().withStructuredOutput(z.object({ a: z.string() }), { name: 'some_tool', method: 'functionCalling' });
    await expect(structured.invoke('hi')).rejects.toThrow(/responder is needed/);
    expect(await model().invoke('plain')).toMatchObject({ content: 'ok' });
  });

  it('passes Retry-After and the error body on 429', async () => {
    fake.reset();
    fake.responder = () => ({ status: 429, error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' }, retryAfterSeconds: 3 });
    const res = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [] }) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toEqual({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } });
  });

  it('answers a malformed body with 400 instead of crashing', async () => {
    fake.reset();
    const res = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/bad request body/);
    expect(fake.requests).toHaveLength(0);
  });

  it('an abort during delayMs rejects the invoke and marks the request aborted', async () => {
    fake.reset();
    fake.responder = () => ({ text: 'too late' });
    fake.delayMs = 2000;
    try {
      const controller = new AbortController();
      const started = Date.now();
      const pending = model().invoke('slow', { signal: controller.signal });
      setTimeout(() => controller.abort(), 150);
      await expect(pending).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1500);
      await waitUntil(() => fake.requests[0]?.endedAt != null);
      expect(fake.requests[0]).toMatchObject({ aborted: true });
    } finally {
      fake.delayMs = 0;
    }
  });

  it('tracks the most requests in flight at once', async () => {
    fake.reset();
    fake.responder = () => ({ text: 'ok' });
    fake.delayMs = 100;
    try {
      await Promise.all([1, 2, 3].map((n) => model().invoke(`q${n}`)));
    } finally {
      fake.delayMs = 0;
    }
    expect(fake.maxConcurrent).toBe(3);
    fake.reset();
    expect(fake.maxConcurrent).toBe(0);
  });
});

describe('signSlackBody', () => {
  it('matches an independently computed v0 signature', () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body = 'token=xyz&team_id=T1&command=%2Forchestrate&text=hello';
    const timestamp = 1531420618;
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex')}`;
    expect(signSlackBody(secret, body, timestamp)).toEqual({ 'x-slack-signature': expected, 'x-slack-request-timestamp': '1531420618' });
  });

  it('defaults the timestamp to now, in seconds', () => {
    const { 'x-slack-request-timestamp': ts } = signSlackBody('s', 'b');
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(5);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
