import { describe, expect, it } from 'vitest';
import {
  decodeSlackEntities,
  escapeMrkdwn,
  fallbackText,
  formatUsd,
  neutralizeMentions,
  safeMrkdwn,
  splitMarkdown,
} from '../../src/blocks/text.js';

describe('text safety', () => {
  it('escapes mrkdwn control characters and breaks broadcasts', () => {
    expect(escapeMrkdwn('a <!channel> & <@U1> @here @everyone')).toBe(
      'a &lt;!channel&gt; &amp; &lt;@U1&gt; @\u200Bhere @\u200Beveryone',
    );
  });

  it('decodes the entities Slack puts in command text, once, so showing it escapes it only once', () => {
    expect(decodeSlackEntities('R&amp;D &lt;-&gt; B &amp;lt;')).toBe('R&D <-> B &lt;');
    expect(escapeMrkdwn(decodeSlackEntities('R&amp;D'))).toBe('R&amp;D');
  });

  it('escapes fallback text, which Slack parses and notifies from, on one line', () => {
    expect(fallbackText('Ping\n<!channel> & @here', 100)).toBe('Ping &lt;!channel&gt; &amp; @\u200Bhere');
  });

  it('keeps Markdown but breaks mention syntax in markdown blocks', () => {
    const out = neutralizeMentions('**Bold** <!here> <@U2> <#C1> @channel');
    expect(out).toContain('**Bold**');
    expect(out).not.toMatch(/<[!@#]/);
    expect(out).not.toMatch(/@channel/);
  });

  it('truncates after escaping without cutting an entity in half', () => {
    const out = safeMrkdwn('&&&&&&&&&&', 12);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out).toMatch(/^(&amp;)+…$/);
  });

  it('splits long Markdown on paragraph breaks, losing nothing', () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'x'.repeat(500)}`);
    const text = paragraphs.join('\n\n');
    const chunks = splitMarkdown(text, 2000);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(2000);
    expect(chunks.join('\n\n')).toBe(text);
  });

  it('formats money so small spends stay visible', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.0021)).toBe('$0.0021');
    expect(formatUsd(1.5)).toBe('$1.50');
  });
});
