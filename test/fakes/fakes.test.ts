/**
 * Tests for the test fakes themselves: FakeSlack (its answers, the state it keeps and the faults it injects)
 * against the real WebClient and its chatStream and filesUploadV2 helpers, FakeOpenAI against the
 * real ChatOpenAI, and the Slack request signature helper against an independently computed vector.
 */
import { createHmac } from 'node:crypto';
import { ChatOpenAI } from '@langchain/openai';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
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
      [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'x'.repeat(76) } }],
        },
      ],
      [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'a'.repeat(256), text: { type: 'plain_text', text: 'ok' } }],
        },
      ],
      [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'a', value: 'v'.repeat(2001), text: { type: 'plain_text', text: 'ok' } },
          ],
        },
      ],
    ];
    for (const blocks of cases) {
      const error = await client.chat.update({ channel: 'C1', ts: '1.0', text: 't', blocks }).catch((e: unknown) => e);
      expect((error as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    }
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'to update' });
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3000) } }];
    const ok = await client.chat.update({ channel: 'C1', ts: ts!, text: 'fine', blocks });
    expect(ok).toMatchObject({ ok: true, channel: 'C1', ts, text: 'fine' });
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
    const res = await fetch(`${fake.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"channel":"C1","text":"x"}',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('validates views and numbers them', async () => {
    fake.reset();
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Edit' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: 't', view });
    expect(opened.view?.id).toMatch(/^V\d+$/);
    const tooLong = await client.views
      .open({ trigger_id: 't', view: { ...view, title: { type: 'plain_text', text: 'x'.repeat(25) } } })
      .catch((e: unknown) => e);
    expect((tooLong as { data?: { error?: string } }).data?.error).toBe('invalid_arguments');
    expect(fake.callsTo('views.open')[1]?.args.view.title.text).toHaveLength(25);
    const updated = await client.views.update({ view_id: opened.view!.id!, view });
    expect(updated.view?.id).toBe(opened.view?.id);
  });

  it('records response_url posts and resolves waitFor for past and future calls', async () => {
    fake.reset();
    const future = fake.waitFor((c) => c.method === 'response_url' && c.args._responseId === 'r/1');
    const res = await fetch(fake.responseUrl('r/1'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'done', replace_original: true }),
    });
    expect(await res.json()).toEqual({ ok: true });
    const call = await future;
    expect(call.args).toMatchObject({ text: 'done', replace_original: true, _responseId: 'r/1' });
    await expect(fake.waitFor((c) => c.method === 'response_url')).resolves.toBe(call);
    await expect(fake.waitFor((c) => c.method === 'never', 50)).rejects.toThrow(/response_url/);
  });
});

describe('FakeSlack as Slack keeps state and misbehaves', () => {
  const fake = new FakeSlack({ botUserId: 'UBOT3', teamId: 'T3' });
  let client: WebClient;
  // Answers a 429 at once instead of sleeping Retry-After seconds and retrying.
  let rejecting: WebClient;

  beforeAll(async () => {
    await fake.start();
    const options = { slackApiUrl: fake.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR };
    client = new WebClient('xoxb-state', options);
    rejecting = new WebClient('xoxb-state', { ...options, rejectRateLimitedCalls: true });
  });
  afterAll(() => fake.stop());

  it('stores posts per channel with metadata and applies chat.update to the stored message', async () => {
    fake.reset();
    const metadata = { event_type: 'orchestration_posted', event_payload: { id: 'o1', round: 2 } };
    const parent = await client.chat.postMessage({ channel: 'C_STORE', text: 'parent', metadata });
    const thread = { channel: 'C_STORE', thread_ts: parent.ts! };
    const first = await client.chat.postMessage({ ...thread, text: 'first' });
    const second = await client.chat.postMessage({ ...thread, text: 'second', reply_broadcast: true });
    // The WebClient sends a form, so metadata arrived JSON-encoded and was decoded.
    expect(fake.callsTo('chat.postMessage')[0]?.args.metadata).toEqual(metadata);
    const stored = fake.message('C_STORE', parent.ts!);
    expect(stored).toMatchObject({ text: 'parent', metadata, user: 'UBOT3', bot_id: 'BBOT' });
    expect(fake.threadReplies('C_STORE', parent.ts!).map((m) => [m.ts, m.text, m.reply_broadcast])).toEqual([
      [first.ts, 'first', undefined],
      [second.ts, 'second', true],
    ]);

    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*edited*' } }];
    await client.chat.update({ channel: 'C_STORE', ts: parent.ts!, text: 'edited', blocks });
    expect(fake.message('C_STORE', parent.ts!)).toMatchObject({ text: 'edited', blocks, metadata });
    // Slack keeps the blocks when an update leaves them out.
    await client.chat.update({ channel: 'C_STORE', ts: parent.ts!, text: 'edited again' });
    expect(fake.message('C_STORE', parent.ts!)).toMatchObject({ text: 'edited again', blocks });

    const update = (channel: string, ts: string) => outcome(client.chat.update({ channel, ts, text: 'x' }));
    expect(await update('C_STORE', '1.000100')).toBe('message_not_found');
    expect(await update('C_OTHER', parent.ts!)).toBe('message_not_found');
    const badMetadata = { event_type: 'e' } as never;
    const refused = client.chat.postMessage({ channel: 'C_STORE', text: 'x', metadata: badMetadata });
    expect(await outcome(refused)).toBe('invalid_metadata_format');
  });

  it('conversations.replies lists the parent then the replies, metadata only on request, page by page', async () => {
    fake.reset();
    const metadata = { event_type: 'step', event_payload: { n: 1 } };
    const parent = await client.chat.postMessage({ channel: 'C_REPLIES', text: 'root' });
    const thread = { channel: 'C_REPLIES', ts: parent.ts! };
    const tss: string[] = [parent.ts!];
    for (const n of [1, 2, 3, 4]) {
      const args = { channel: thread.channel, thread_ts: thread.ts, text: `r${n}`, metadata };
      const reply = await client.chat.postMessage(args);
      tss.push(reply.ts!);
    }

    const plain = await client.conversations.replies(thread);
    expect(plain.messages?.map((m) => m.ts)).toEqual(tss);
    expect(plain.messages?.[0]).toMatchObject({ text: 'root', reply_count: 4, latest_reply: tss[4] });
    expect(plain.messages?.some((m) => m.metadata)).toBe(false);
    expect(plain.has_more).toBe(false);

    const page1 = await client.conversations.replies({ ...thread, limit: 2, include_all_metadata: true });
    expect(page1.messages?.map((m) => m.text)).toEqual(['root', 'r1']);
    expect(page1.messages?.[1]?.metadata).toEqual(metadata);
    expect(page1.has_more).toBe(true);
    const cursor = page1.response_metadata?.next_cursor;
    expect(cursor).toBeTruthy();
    const page2 = await client.conversations.replies({ ...thread, limit: 2, cursor });
    expect(page2.messages?.map((m) => m.text)).toEqual(['r2', 'r3']);

    // The WebClient's own paginator follows next_cursor to the end; a reply's ts stands for its thread.
    const texts: string[] = [];
    for await (const page of client.paginate('conversations.replies', { ...thread, ts: tss[2]!, limit: 2 })) {
      texts.push(...((page as { messages?: { text?: string }[] }).messages ?? []).map((m) => m.text ?? ''));
    }
    expect(texts).toEqual(['root', 'r1', 'r2', 'r3', 'r4']);

    expect(await outcome(client.conversations.replies({ ...thread, ts: '1.000100' }))).toBe('thread_not_found');
  });

  it('conversations.history lists top-level messages newest first, broadcast replies included', async () => {
    fake.reset();
    const a = await client.chat.postMessage({ channel: 'C_HIST', text: 'a' });
    await client.chat.postMessage({ channel: 'C_HIST', thread_ts: a.ts!, text: 'quiet reply' });
    await client.chat.postMessage({ channel: 'C_HIST', thread_ts: a.ts!, text: 'loud reply', reply_broadcast: true });
    await client.chat.postMessage({ channel: 'C_HIST', text: 'b' });
    const history = await client.conversations.history({ channel: 'C_HIST', limit: 2 });
    expect(history.messages?.map((m) => m.text)).toEqual(['b', 'loud reply']);
    expect(history.has_more).toBe(true);
    const cursor = history.response_metadata?.next_cursor;
    const rest = await client.conversations.history({ channel: 'C_HIST', cursor });
    expect(rest.messages?.map((m) => m.text)).toEqual(['a']);
  });

  it('enforceChannelRate answers 429 with Retry-After per channel, counted and not stored', async () => {
    fake.reset();
    // A slow refill so the test never depends on how fast the calls run.
    fake.enforceChannelRate({ perSecond: 0.1, burst: 2 });
    const one = await rejecting.chat.postMessage({ channel: 'C_RATE', text: '1' });
    await rejecting.chat.postMessage({ channel: 'C_RATE', text: '2' });
    const third = await rejecting.chat.postMessage({ channel: 'C_RATE', text: '3' }).catch((e: unknown) => e);
    expect(third).toMatchObject({ code: ErrorCode.RateLimitedError });
    const retryAfter = (third as { retryAfter: number }).retryAfter;
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    const update = await rejecting.chat.update({ channel: 'C_RATE', ts: one.ts!, text: 'x' }).catch((e: unknown) => e);
    expect(update).toMatchObject({ code: ErrorCode.RateLimitedError });
    const otherChannel = await rejecting.chat.postMessage({ channel: 'C_RATE_2', text: 'other channel' });
    expect(otherChannel.ok).toBe(true);

    expect(fake.rateLimitedCount()).toBe(2);
    const limited = fake.calls.filter((c) => c.response?.error === 'ratelimited');
    expect(limited.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
    expect(fake.message('C_RATE', one.ts!)?.text).toBe('1');
    const body = new URLSearchParams({ channel: 'C_RATE', text: '4' });
    const raw = await fetch(`${fake.url}chat.postMessage`, { method: 'POST', body });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
    const history = await client.conversations.history({ channel: 'C_RATE' });
    expect(history.messages?.map((m) => m.text)).toEqual(['2', '1']);

    fake.enforceChannelRate(null);
    await expect(rejecting.chat.postMessage({ channel: 'C_RATE', text: '5' })).resolves.toMatchObject({ ok: true });
  });

  it('enforceChannelRate with methods limits only those methods: posts paced, updates free', async () => {
    fake.reset();
    fake.enforceChannelRate({ perSecond: 0.1, methods: ['chat.postMessage'] });
    const one = await rejecting.chat.postMessage({ channel: 'C_RATE_M', text: '1' });
    const second = await rejecting.chat.postMessage({ channel: 'C_RATE_M', text: '2' }).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: ErrorCode.RateLimitedError });
    for (const text of ['a', 'b', 'c']) {
      await expect(rejecting.chat.update({ channel: 'C_RATE_M', ts: one.ts!, text })).resolves.toMatchObject({
        ok: true,
      });
    }
    expect(fake.rateLimitedCount()).toBe(1);
    expect(fake.message('C_RATE_M', one.ts!)?.text).toBe('c');
    fake.enforceChannelRate(null);
  });

  it('chaos is seeded and repeatable: every Nth call 429s, a share 500s, and a 500 stores nothing', async () => {
    type Failed = { code?: string; statusCode?: number; retryAfter?: number };
    const run = async (channel: string): Promise<string[]> => {
      fake.reset();
      fake.chaos({ rateLimitEvery: 3, retryAfterSeconds: 2, serverErrorRatio: 0.4, seed: 7 });
      const outcomes: string[] = [];
      for (let i = 0; i < 12; i++) {
        const result = await rejecting.chat.postMessage({ channel, text: `m${i}` }).then(
          () => 'ok',
          (e: Failed) => (e.code === ErrorCode.RateLimitedError ? `429:${e.retryAfter}` : String(e.statusCode)),
        );
        outcomes.push(result);
      }
      return outcomes;
    };
    const first = await run('C_CHAOS_1');
    expect(await run('C_CHAOS_2')).toEqual(first);
    expect([first[2], first[5], first[8], first[11]]).toEqual(['429:2', '429:2', '429:2', '429:2']);
    expect(first).toContain('500');
    expect(first).toContain('ok');
    const stored = (await client.conversations.history({ channel: 'C_CHAOS_2' })).messages ?? [];
    expect(stored).toHaveLength(first.filter((o) => o === 'ok').length);
    const serverErrors = fake.callsTo('chat.postMessage').filter((c) => c.status === 500);
    expect(serverErrors).toHaveLength(first.filter((o) => o === '500').length);

    // Methods outside the list are untouched, and chaos(null) ends it.
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    fake.chaos(null);
    for (let i = 0; i < 3; i++) {
      await expect(rejecting.chat.postMessage({ channel: 'C_CHAOS_2', text: 'calm' })).resolves.toBeTruthy();
    }
  });

  it('dropAfterStoreNext stores the post but loses the answer', async () => {
    fake.reset();
    fake.dropAfterStoreNext('chat.postMessage');
    const lost = await client.chat.postMessage({ channel: 'C_DROP', text: 'landed' }).catch((e: unknown) => e);
    expect(lost).toMatchObject({ code: ErrorCode.RequestError });
    const call = fake.callsTo('chat.postMessage')[0]!;
    expect(call.dropped).toBe(true);
    expect(fake.message('C_DROP', call.response!.ts)?.text).toBe('landed');
    const next = await client.chat.postMessage({ channel: 'C_DROP', text: 'answered' });
    expect(next.ok).toBe(true);
    const history = await client.conversations.history({ channel: 'C_DROP' });
    expect(history.messages?.map((m) => m.text)).toEqual(['answered', 'landed']);
  });

  it('client.chatStream: startStream with recipients and chunks, appendStream with chunks, stopStream', async () => {
    fake.reset();
    const parent = await client.chat.postMessage({ channel: 'C_STREAM', text: 'question' });
    const streamer = client.chatStream({
      channel: 'C_STREAM',
      thread_ts: parent.ts!,
      recipient_team_id: 'T3',
      recipient_user_id: 'U_ASKER',
      buffer_size: 10,
    });
    expect(await streamer.append({ markdown_text: 'Hello ' })).toBeNull(); // buffered, no call yet
    await streamer.append({ markdown_text: 'streaming world' });
    await streamer.append({ markdown_text: ' and more text' });
    await streamer.append({ markdown_text: '!' });
    const blocks = [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'by the crew' }] }];
    const stopped = await streamer.stop({ markdown_text: ' Done.', blocks });

    const start = fake.callsTo('chat.startStream');
    expect(start).toHaveLength(1);
    expect(start[0]!.args).toMatchObject({
      channel: 'C_STREAM',
      thread_ts: parent.ts,
      recipient_team_id: 'T3',
      recipient_user_id: 'U_ASKER',
      chunks: [{ type: 'markdown_text', text: 'Hello streaming world' }],
    });
    expect(start[0]!.args.markdown_text).toBeUndefined();
    const ts = start[0]!.response!.ts as string;
    expect(streamer.ts).toBe(ts);
    expect(fake.callsTo('chat.appendStream').map((c) => c.args)).toMatchObject([
      { channel: 'C_STREAM', ts, chunks: [{ type: 'markdown_text', text: ' and more text' }] },
    ]);
    const stop = fake.callsTo('chat.stopStream');
    expect(stop[0]!.args).toMatchObject({ ts, chunks: [{ type: 'markdown_text', text: '! Done.' }], blocks });
    expect(stopped).toMatchObject({ ok: true, ts });

    const message = fake.message('C_STREAM', ts)!;
    expect(message).toMatchObject({ thread_ts: parent.ts, text: 'Hello streaming world and more text! Done.', blocks });
    expect(message.streaming_state).toBe('completed');
    expect(fake.threadReplies('C_STREAM', parent.ts!).map((m) => m.ts)).toEqual([ts]);
    const late = client.chat.appendStream({ channel: 'C_STREAM', ts, markdown_text: 'late' });
    expect(await outcome(late)).toBe('message_not_in_streaming_state');
    await expect(streamer.append({ markdown_text: 'x' })).rejects.toThrow(/completed/);
  });

  it('client.chatStream stopped before its buffer fills starts an empty stream, then stops with the text', async () => {
    fake.reset();
    const streamer = client.chatStream({ channel: 'D_DM', thread_ts: '1700000000.000100' });
    await streamer.append({ markdown_text: 'short answer' });
    await streamer.stop();
    expect(fake.callsTo('chat.startStream')[0]?.args.chunks).toBeUndefined();
    expect(fake.callsTo('chat.stopStream')[0]?.args.chunks).toEqual([{ type: 'markdown_text', text: 'short answer' }]);
    expect(fake.message('D_DM', streamer.ts!)?.text).toBe('short answer');
  });

  it('streams check recipients, chunks, expiry and refusal', async () => {
    fake.reset();
    const thread = { channel: 'C_S2', thread_ts: '1700000000.000100' };
    const start = (args: Record<string, unknown>) => outcome(client.chat.startStream({ ...thread, ...args }));
    expect(await start({ recipient_user_id: 'U1' })).toBe('missing_recipient_team_id');
    expect(await start({ recipient_team_id: 'T3' })).toBe('missing_recipient_user_id');
    // A private channel (G…) needs them too; a DM does not.
    expect(await start({ channel: 'G1' })).toBe('missing_recipient_team_id');
    expect(await start({ channel: 'D1' })).toBe('ok');

    const recipients = { recipient_team_id: 'T3', recipient_user_id: 'U1' };
    const task = { type: 'task_update' as const, id: 't1', title: 'Research', status: 'in_progress' as const };
    const plan = { type: 'plan_update' as const, title: 'Plan' };
    const { ts } = await client.chat.startStream({ ...thread, ...recipients, chunks: [plan, task] });
    const append = (args: Record<string, unknown>) =>
      outcome(client.chat.appendStream({ channel: 'C_S2', ts: ts!, ...args } as never));
    expect(await append({ markdown_text: 'a', chunks: [task] })).toBe('invalid_arguments');
    expect(await append({ chunks: [{ ...task, status: 'done' }] })).toBe('invalid_chunks');
    expect(await append({ chunks: [{ ...task, status: 'complete' }] })).toBe('ok');
    const chunks = fake.message('C_S2', ts!)?.chunks;
    expect(chunks?.map((c) => c.status ?? c.type)).toEqual(['plan_update', 'in_progress', 'complete']);

    // An expired stream refuses appends but can still be stopped, then updated like any message.
    fake.streamLifetimeMs(0);
    expect(await append({ markdown_text: 'x' })).toBe('message_not_in_streaming_state');
    expect(await outcome(client.chat.stopStream({ channel: 'C_S2', ts: ts! }))).toBe('ok');
    await client.chat.update({ channel: 'C_S2', ts: ts!, text: 'the rest' });
    expect(fake.message('C_S2', ts!)?.text).toBe('the rest');
    expect(await outcome(client.chat.stopStream({ channel: 'C_S2', ts: ts! }))).toBe('message_not_in_streaming_state');

    fake.refuseStreaming();
    expect(await start(recipients)).toBe('not_allowed');
    fake.refuseStreaming('team_not_allowed');
    expect(await start(recipients)).toBe('team_not_allowed');
  });

  it('records assistant.threads.setStatus, cleared by the next post in the thread', async () => {
    fake.reset();
    const loading_messages = ['Thinking…', 'Reading the thread…'];
    const thread = { channel_id: 'C_AS', thread_ts: '1.5' };
    await client.assistant.threads.setStatus({ ...thread, status: 'is working…', loading_messages });
    expect(fake.callsTo('assistant.threads.setStatus')[0]?.args).toMatchObject({ ...thread, loading_messages });
    expect(fake.threadStatus('C_AS', '1.5')).toEqual({ status: 'is working…', loading_messages });
    await client.chat.postMessage({ channel: 'C_AS', thread_ts: '1.5', text: 'answer' });
    expect(fake.threadStatus('C_AS', '1.5')).toBeUndefined();
    const tooMany = Array.from({ length: 11 }, (_, i) => `m${i}`);
    const refused = client.assistant.threads.setStatus({ ...thread, status: 's', loading_messages: tooMany });
    expect(await outcome(refused)).toBe('invalid_arguments');
  });

  it('creates channel and standalone canvases, one channel canvas per channel, refused on demand', async () => {
    fake.reset();
    const document_content = { type: 'markdown' as const, markdown: '# Plan\n- step one' };
    const { canvas_id } = await client.conversations.canvases.create({ channel_id: 'C_CV', document_content });
    expect(canvas_id).toMatch(/^F/);
    const expected = { id: canvas_id, kind: 'channel', channelId: 'C_CV', markdown: document_content.markdown };
    expect(fake.canvas(canvas_id!)).toEqual(expected);
    const twice = client.conversations.canvases.create({ channel_id: 'C_CV', document_content });
    expect(await outcome(twice)).toBe('channel_canvas_already_exists');

    const standalone = await client.canvases.create({ title: 'Deliverable', document_content, channel_id: 'C_CV' });
    expect(standalone.canvas_id).not.toBe(canvas_id);
    const stored = fake.canvas(standalone.canvas_id!);
    expect(stored).toMatchObject({ kind: 'standalone', title: 'Deliverable', channelId: 'C_CV' });

    fake.refuseCanvases();
    const free = client.canvases.create({ title: 'x', document_content });
    expect(await outcome(free)).toBe('free_teams_cannot_create_non_tabbed_canvases');
    fake.refuseCanvases('team_tier_cannot_create_channel_canvases');
    const tier = client.conversations.canvases.create({ channel_id: 'C_CV2', document_content });
    expect(await outcome(tier)).toBe('team_tier_cannot_create_channel_canvases');
  });

  it('serves filesUploadV2 end to end: upload URL, the bytes, then completion in the thread', async () => {
    fake.reset();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0d, 0x0a]);
    const destination = { channel_id: 'C_FILES', thread_ts: '1700000000.000100', initial_comment: 'The deliverable' };
    const result = await client.filesUploadV2({
      ...destination,
      file_uploads: [
        { file: png, filename: 'chart.png', title: 'Chart' },
        { content: '# Doc\nhello', filename: 'doc.md' },
      ],
    });
    expect(result.ok).toBe(true);
    expect(fake.callsTo('files.getUploadURLExternal').map((c) => [c.args.filename, c.args.length])).toEqual([
      ['chart.png', String(png.length)],
      ['doc.md', '11'],
    ]);
    expect(fake.callsTo('upload').map((c) => c.status)).toEqual([200, 200]);
    const complete = fake.callsTo('files.completeUploadExternal');
    expect(complete).toHaveLength(1);
    expect(complete[0]?.args).toMatchObject(destination);

    const files = fake.uploadedFiles();
    const shared = {
      completed: true,
      channelId: 'C_FILES',
      threadTs: '1700000000.000100',
      initialComment: 'The deliverable',
    };
    expect(files).toEqual([
      { id: files[0]!.id, filename: 'chart.png', title: 'Chart', bytes: png, ...shared },
      { id: files[1]!.id, filename: 'doc.md', title: 'doc.md', bytes: Buffer.from('# Doc\nhello'), ...shared },
    ]);
    const [post] = fake.threadReplies('C_FILES', '1700000000.000100');
    expect(post).toMatchObject({ text: 'The deliverable', files: files.map((f) => f.id) });
  });

  it('takes raw bytes at the upload URL and refuses completing a file that never arrived', async () => {
    fake.reset();
    const url = await client.files.getUploadURLExternal({ filename: 'raw.bin', length: 3 });
    expect(url.upload_url).toBe(`${fake.url.replace(/api\/$/, '')}upload/${url.file_id}`);
    const res = await fetch(url.upload_url!, { method: 'POST', body: Buffer.from('abc') });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK - 3');
    const raw = fake.uploadedFiles().find((f) => f.id === url.file_id);
    expect(raw).toMatchObject({ completed: false, bytes: Buffer.from('abc') });

    const never = await client.files.getUploadURLExternal({ filename: 'never.txt', length: 5 });
    const refused = client.files.completeUploadExternal({ files: [{ id: never.file_id! }] });
    expect(await outcome(refused)).toBe('file_not_found');
    expect((await fetch(`${url.upload_url!}x`, { method: 'POST', body: 'a' })).status).toBe(404);
  });

  it('views.publish stores the Home tab per user and refuses a bad one', async () => {
    fake.reset();
    const blocks = [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'Your orchestrations' } }];
    const published = await client.views.publish({ user_id: 'U_HOME', view: { type: 'home', blocks } });
    expect(published.view).toMatchObject({ type: 'home', blocks, team_id: 'T3' });
    expect(fake.homeView('U_HOME')).toMatchObject({ type: 'home', blocks, id: published.view?.id });
    const again = await client.views.publish({ user_id: 'U_HOME', view: { type: 'home', blocks: [] } });
    expect(again.view?.id).toBe(published.view?.id);
    expect(fake.homeView('U_HOME')?.blocks).toEqual([]);

    const publish = (view: unknown) => outcome(client.views.publish({ user_id: 'U_HOME', view: view as never }));
    const tooMany = Array.from({ length: 101 }, () => blocks[0]);
    expect(await publish({ type: 'home', blocks: tooMany })).toBe('invalid_arguments');
    const modal = { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks };
    expect(await publish(modal)).toBe('invalid_arguments');
    expect(await publish({ type: 'home' })).toBe('invalid_arguments');
    expect(fake.homeView('U_HOME')?.blocks).toEqual([]);
  });

  it('refuseBlockTypes refuses agent blocks in posts, updates and stream stops', async () => {
    fake.reset();
    const card = { type: 'task_card', task_id: 't1', title: 'Research', status: 'pending' };
    const plan = [{ type: 'plan', title: 'Plan', tasks: [card] }] as never;
    const post = () => outcome(client.chat.postMessage({ channel: 'C_BLK', text: 'plan', blocks: plan }));
    const { ts } = await client.chat.postMessage({ channel: 'C_BLK', text: 'plan', blocks: plan });
    fake.refuseBlockTypes(['plan', 'task_card']);
    expect(await post()).toBe('invalid_blocks');
    const update = client.chat.update({ channel: 'C_BLK', ts: ts!, text: 'x', blocks: [card] as never });
    expect(await outcome(update)).toBe('invalid_blocks');
    const stream = await client.chat.startStream({ channel: 'D_BLK', thread_ts: ts! });
    const stop = client.chat.stopStream({ channel: 'D_BLK', ts: stream.ts!, blocks: plan });
    expect(await outcome(stop)).toBe('invalid_blocks');
    expect(await outcome(client.chat.stopStream({ channel: 'D_BLK', ts: stream.ts! }))).toBe('ok');
    fake.refuseBlockTypes([]);
    expect(await post()).toBe('ok');
  });

  it('counts 12,000 markdown characters per message and checks tables', async () => {
    fake.reset();
    const markdown = (n: number) => ({ type: 'markdown', text: 'x'.repeat(n) });
    const post = (blocks: unknown[]) =>
      outcome(client.chat.postMessage({ channel: 'C_LIM', text: 'x', blocks: blocks as never }));
    expect(await post([markdown(12000)])).toBe('ok');
    expect(await post([markdown(6000), markdown(6001)])).toBe('invalid_blocks');

    const row = (cells: number) => Array.from({ length: cells }, (_, i) => ({ type: 'raw_text', text: `c${i}` }));
    const table = (rows: number, cells: number) => ({
      type: 'table',
      rows: Array.from({ length: rows }, () => row(cells)),
    });
    expect(await post([table(100, 20)])).toBe('ok');
    expect(await post([table(101, 2)])).toBe('invalid_blocks');
    expect(await post([table(2, 21)])).toBe('invalid_blocks');
    expect(await post([table(1, 1), table(1, 1)])).toBe('invalid_blocks');
    expect(await post([{ type: 'table' }])).toBe('invalid_blocks');
  });

  it('records reactions.add and refuses the same reaction twice', async () => {
    fake.reset();
    const { ts } = await client.chat.postMessage({ channel: 'C_REACT', text: 'done' });
    const reaction = { channel: 'C_REACT', timestamp: ts!, name: 'white_check_mark' };
    await client.reactions.add(reaction);
    expect(fake.callsTo('reactions.add')[0]?.args).toMatchObject(reaction);
    expect(fake.message('C_REACT', ts!)?.reactions).toEqual(['white_check_mark']);
    expect(await outcome(client.reactions.add(reaction))).toBe('already_reacted');
  });

  it('reset() ends every fault mode but keeps what Slack stored', async () => {
    fake.reset();
    const { ts } = await client.chat.postMessage({ channel: 'C_RESET', text: 'kept' });
    fake.enforceChannelRate({ perSecond: 0.01 });
    fake.chaos({ serverErrorRatio: 1 });
    fake.refuseStreaming();
    fake.reset();
    await client.chat.update({ channel: 'C_RESET', ts: ts!, text: 'still here' });
    await client.chat.postMessage({ channel: 'C_RESET', text: 'no limit' });
    await client.chat.startStream({ channel: 'D_RESET', thread_ts: ts! });
    expect(fake.message('C_RESET', ts!)?.text).toBe('still here');
    expect(fake.rateLimitedCount()).toBe(0);
  });
});

describe('FakeOpenAI with ChatOpenAI', () => {
  const fake = new FakeOpenAI();
  const model = () =>
    new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test', configuration: { baseURL: fake.url }, maxRetries: 0 });

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
    fake.responder = (req) =>
      req.toolName === 'state_position' ? { tool: 'state_position', args } : { text: 'wrong' };
    const structured = model().withStructuredOutput(schema, {
      name: 'state_position',
      method: 'functionCalling',
      includeRaw: true,
    });
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
    const structured = model().withStructuredOutput(z.object({ a: z.string() }), {
      name: 'some_tool',
      method: 'functionCalling',
    });
    await expect(structured.invoke('hi')).rejects.toThrow(/responder is needed/);
    expect(await model().invoke('plain')).toMatchObject({ content: 'ok' });
  });

  it('passes Retry-After and the error body on 429', async () => {
    fake.reset();
    fake.responder = () => ({
      status: 429,
      error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' },
      retryAfterSeconds: 3,
    });
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [] }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toEqual({
      error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' },
    });
  });

  it('answers a malformed body with 400 instead of crashing', async () => {
    fake.reset();
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
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
    expect(signSlackBody(secret, body, timestamp)).toEqual({
      'x-slack-signature': expected,
      'x-slack-request-timestamp': '1531420618',
    });
  });

  it('defaults the timestamp to now, in seconds', () => {
    const { 'x-slack-request-timestamp': ts } = signSlackBody('s', 'b');
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(5);
  });
});

/** 'ok', or the Slack error code a Web API call was refused with. */
function outcome(call: Promise<unknown>): Promise<string | undefined> {
  return call.then(
    () => 'ok',
    (error: { data?: { error?: string } }) => error.data?.error,
  );
}

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
