import { describe, expect, it } from 'vitest';
import { classifyLlmError } from '../../src/engine/llm/client.js';

describe('classifyLlmError', () => {
  it('calls a call aborted only when our own signal was aborted', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyLlmError(new Error('Request was aborted.'), controller.signal)).toMatchObject({
      aborted: true,
      transient: false,
    });
    // A proxy's 502 that happens to say "aborted" is a provider failure, worth a retry.
    expect(
      classifyLlmError({ status: 502, message: '502 upstream connection aborted' }, new AbortController().signal),
    ).toMatchObject({ aborted: false, transient: true });
  });

  it('retries rate limits, 5xx and timeouts, but not quota, auth or bad requests', () => {
    expect(classifyLlmError({ status: 429, message: 'slow down' }).transient).toBe(true);
    expect(classifyLlmError({ status: 503, message: 'overloaded' }).transient).toBe(true);
    expect(classifyLlmError(new Error('Request timed out.')).transient).toBe(true);
    expect(classifyLlmError({ status: 429, code: 'insufficient_quota', message: 'quota' }).transient).toBe(false);
    expect(classifyLlmError({ status: 401, message: 'bad key' })).toMatchObject({
      transient: false,
      message: expect.stringContaining('refused the request (401)'),
    });
    expect(classifyLlmError({ status: 400, message: 'context too long' }).transient).toBe(false);
  });

  it('retries a dropped connection, whose cause the SDKs keep beneath "Connection error."', () => {
    const dropped = new Error('Connection error.', {
      cause: new TypeError('fetch failed', {
        cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      }),
    });
    expect(classifyLlmError(dropped)).toMatchObject({
      transient: true,
      message: 'the LLM provider did not answer: Connection error.',
    });
  });
});
