/** The answer to /orchestrate status: each open run with its link and id, within a message's limits. */
import { describe, expect, it } from 'vitest';
import { OPEN_RUNS_SHOWN, type OpenRun, openRunsMessage } from '../../src/blocks/openRuns.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const idOf = (n: number) => n.toString(16).padStart(24, 'b') as OrchestrationId;
const run = (n: number, overrides: Partial<OpenRun> = {}): OpenRun => ({
  orchestrationId: idOf(n),
  goal: 'Research the market & ping <!channel> about it '.repeat(80),
  status: 'executing',
  spentUsd: 0.5,
  maxUsd: 2,
  createdAt: new Date(NOW.getTime() - n * 3_600_000),
  channelId: 'C0123456789',
  link: {
    url: `https://acme.slack.com/archives/C0123456789/p170000000000${String(n).padStart(4, '0')}`,
    to: 'message',
  },
  paused: false,
  ...overrides,
});

describe('openRunsMessage', () => {
  it('lists at most the cap of long goals within a message, and counts the rest', () => {
    const runs = Array.from({ length: 40 }, (_, i) => run(i + 1));
    const message = openRunsMessage({ runs, total: 40, now: NOW });
    expect(blockKitViolations(message)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(message.text).toBe('You have 40 open orchestrations.');
    expect(text).toContain(`…and ${40 - OPEN_RUNS_SHOWN} older open orchestrations not shown.`);
    expect(text).not.toContain('<!channel>');
  });

  it('shows status, the link to the proposal, the id to cancel with, spend and age', () => {
    const message = openRunsMessage({
      runs: [
        run(1, { status: 'proposed', paused: false }),
        run(2, { status: 'planning', link: null }),
        run(3, { link: { url: 'https://slack.com/app_redirect?channel=C0123456789', to: 'channel' }, paused: true }),
      ],
      total: 3,
      now: NOW,
    });
    const [, proposed, planning, fallback] = message.blocks.map((b: any) => b.text?.text ?? '');
    expect(proposed).toContain('Proposed');
    expect(proposed).toContain('|open the proposal>');
    expect(proposed).toContain(`id \`${idOf(1)}\``);
    expect(proposed).toContain('$0.50 of $2.00 · 1h ago');
    expect(planning).toContain('no proposal message yet');
    expect(fallback).toContain('_paused_');
    expect(fallback).toContain('<https://slack.com/app_redirect?channel=C0123456789|open the channel>');
    expect(JSON.stringify(message.blocks)).toContain('/orchestrate cancel &lt;link or id&gt;');
  });

  it('says so when there is nothing open', () => {
    const message = openRunsMessage({ runs: [], total: 0, now: NOW });
    expect(message.text).toContain('You have no open orchestrations.');
    expect(blockKitViolations(message)).toEqual([]);
  });
});
