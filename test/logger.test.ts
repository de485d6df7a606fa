import { describe, expect, it } from 'vitest';
import { redact } from '../src/logger.js';

describe('redact', () => {
  it('masks configured secrets and anything shaped like a Slack or OpenAI credential', () => {
    const line = 'calling with xoxb-123-456-abc and xapp-1-A-2 and sk-proj-abcdefghijkl and my-signing-secret';
    const out = redact(line, ['my-signing-secret']);
    expect(out).toBe('calling with [redacted] and [redacted] and [redacted] and [redacted]');
  });
});
