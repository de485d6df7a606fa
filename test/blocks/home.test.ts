/** The App Home tab and the run detail modal: Block Kit limits at the largest sizes, escaping, the empty state. */
import { describe, expect, it } from 'vitest';
import { ActionIds, decodeControlValue, ViewIds } from '../../src/blocks/actionIds.js';
import {
  age,
  channelLink,
  type HomeRun,
  homeView,
  noticeModal,
  type RunDetailData,
  type RunDetailStep,
  runDetailModal,
} from '../../src/blocks/home.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const idOf = (n: number) => n.toString(16).padStart(24, 'a') as OrchestrationId;
const LONG = 'Research the market & write a plan for <!channel> '.repeat(60);

const run = (n: number, overrides: Partial<HomeRun> = {}): HomeRun => ({
  orchestrationId: idOf(n),
  revision: 3,
  goal: LONG,
  status: 'executing',
  spentUsd: 1.2345,
  maxUsd: 5,
  createdAt: new Date(NOW.getTime() - n * 3_600_000),
  channelId: 'C0123456789',
  teamId: 'T0123456789',
  ...overrides,
});

const step = (n: number): RunDetailStep => ({
  title: `Ticket ${n}: ${'compare the vendors & <@U1> their prices '.repeat(30)}`,
  role: 'Senior market researcher & analyst '.repeat(10),
  agent: 'Ada Lovelace-Byron the Third '.repeat(10),
  status: 'succeeded',
  startedAt: new Date(NOW.getTime() - 600_000),
  durationMs: 93_000,
  tokens: { input: 123_456, output: 45_678, cached: 1_000 },
  costUsd: 0.0421,
});

const detail = (overrides: Partial<RunDetailData> = {}): RunDetailData => ({
  orchestrationId: idOf(1),
  revision: 2,
  goal: LONG,
  status: 'completed',
  steps: Array.from({ length: 16 }, (_, i) => step(i + 1)),
  totalUsd: 0.9,
  maxUsd: 2,
  feedback: { rating: 'positive', by: 'UREVIEWER' },
  channelId: 'C0123456789',
  teamId: null,
  ...overrides,
});

/**
 * The limits of a Home tab or modal: 100 blocks, no message-wide text budget, and the per-element
 * limits blockKitViolations checks for messages, plus section fields, titles and private_metadata.
 */
function viewViolations(view: any): string[] {
  const out = blockKitViolations({ text: '', blocks: view.blocks }).filter(
    (v) => !/blocks \(max 50\)|characters of block text/.test(v),
  );
  if (view.blocks.length > 100) out.push(`${view.blocks.length} blocks (max 100)`);
  for (const [i, b] of view.blocks.entries()) {
    if (b.type === 'section' && !b.text && !b.fields) out.push(`block ${i}: empty section`);
    if (b.fields && b.fields.length > 10) out.push(`block ${i}: ${b.fields.length} fields`);
    for (const f of b.fields ?? []) if (f.text.length > 2000) out.push(`block ${i}: field ${f.text.length} > 2000`);
    if (b.type === 'header' && b.text.type !== 'plain_text') out.push(`block ${i}: header not plain_text`);
  }
  if (view.type === 'modal') {
    if (view.title.text.length > 24) out.push(`title ${view.title.text.length} > 24`);
    if ((view.close?.text ?? '').length > 24) out.push('close too long');
  }
  if ((view.private_metadata ?? '').length > 3000) out.push('private_metadata > 3000');
  if ((view.callback_id ?? '').length > 255) out.push('callback_id > 255');
  return out;
}

const texts = (view: { blocks: any[] }) => JSON.stringify(view.blocks);

describe('homeView', () => {
  it('stays within Block Kit limits with 20 runs of long goals, and each run has a Details button', () => {
    const runs = Array.from({ length: 20 }, (_, i) => run(i + 1));
    const view = homeView({ runs, total: 20, now: NOW });
    expect(view.type).toBe('home');
    expect(viewViolations(view)).toEqual([]);
    const buttons = view.blocks.flatMap((b: any) => (b.accessory ? [b.accessory] : []));
    expect(buttons).toHaveLength(20);
    expect(buttons[0].action_id).toBe(ActionIds.openRunDetail);
    expect(decodeControlValue(buttons[0].value)).toEqual({ orchestrationId: idOf(1), revision: 3 });
    expect(texts(view)).not.toContain('more');
  });

  it('shows status, spend against the cap, age and a link to the channel', () => {
    const view = homeView({ runs: [run(3, { goal: 'Short goal' })], total: 1, now: NOW });
    const text = texts(view);
    expect(text).toContain('Short goal');
    expect(text).toContain(':gear: Approved → executing');
    expect(text).toContain('Spend $1.23 of $5.00');
    expect(text).toContain('3h ago');
    expect(text).toContain('<https://slack.com/app_redirect?channel=C0123456789&team=T0123456789|open the channel>');
    expect(text).toContain('<#C0123456789>');
  });

  it('escapes a goal that tries to ping everyone or break mrkdwn', () => {
    const view = homeView({ runs: [run(1, { goal: 'Ping <!channel> & <@U999> now' })], total: 1, now: NOW });
    const text = texts(view);
    expect(text).toContain('Ping &lt;!channel&gt; &amp; &lt;@U999&gt; now');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U999>');
  });

  it('shows at most 20 runs and says how many more there are', () => {
    const runs = Array.from({ length: 25 }, (_, i) => run(i + 1));
    const view = homeView({ runs, total: 57, now: NOW });
    expect(view.blocks.filter((b: any) => b.accessory)).toHaveLength(20);
    expect(texts(view)).toContain('…and 37 older orchestrations not shown.');
    expect(viewViolations(view)).toEqual([]);
  });

  it('tells a person with no runs how to start one', () => {
    const view = homeView({ runs: [], total: 0, now: NOW });
    expect(texts(view)).toContain('/orchestrate &lt;goal&gt;');
    expect(view.blocks.some((b: any) => b.accessory)).toBe(false);
    expect(viewViolations(view)).toEqual([]);
  });
});

describe('age and channelLink', () => {
  it('says how long ago, in the largest sensible unit', () => {
    const ago = (ms: number) => age(new Date(NOW.getTime() - ms), NOW);
    expect(ago(10_000)).toBe('just now');
    expect(ago(5 * 60_000)).toBe('5m ago');
    expect(ago(3 * 3_600_000)).toBe('3h ago');
    expect(ago(5 * 86_400_000)).toBe('5d ago');
  });

  it('leaves the team out when it is not known', () => {
    expect(channelLink({ channelId: 'C1', teamId: null })).toBe('https://slack.com/app_redirect?channel=C1');
  });
});

describe('runDetailModal', () => {
  it('stays within Block Kit limits with 16 long steps', () => {
    const view = runDetailModal(detail());
    expect(view.callback_id).toBe(ViewIds.runDetail);
    expect(viewViolations(view)).toEqual([]);
    expect(decodeControlValue(view.private_metadata)).toEqual({ orchestrationId: idOf(1), revision: 2 });
  });

  it('stays within 100 blocks however many steps the run has', () => {
    const view = runDetailModal(detail({ steps: Array.from({ length: 150 }, (_, i) => step(i)) }));
    expect(viewViolations(view)).toEqual([]);
    expect(texts(view)).toContain('…and 70 more steps not shown.');
  });

  it('shows each step with role, agent, status, start, duration, tokens and cost, and the total', () => {
    const view = runDetailModal(
      detail({
        steps: [{ ...step(1), title: 'Map competitors', role: 'Researcher', agent: 'Ada' }],
        totalUsd: 0.05,
      }),
    );
    const text = texts(view);
    for (const part of [
      '*1. Map competitors*',
      '*Role*\\nResearcher',
      '*Agent*\\nAda',
      '*Status*\\nsucceeded',
      '<!date^',
      '*Duration*\\n1m 33s',
      '123,456 in · 45,678 out · 1,000 cached',
      '*Cost*\\n$0.04',
      '*Total*',
      '$0.05 of $2.00 cap',
    ])
      expect(text).toContain(part);
  });

  it('escapes step text, and says who rated the deliverable or that nobody has', () => {
    const rated = texts(runDetailModal(detail()));
    expect(rated).toContain('&amp; &lt;@U1&gt;');
    expect(rated).not.toContain('<@U1>');
    expect(rated).toContain(':+1: by <@UREVIEWER>');
    expect(texts(runDetailModal(detail({ feedback: { rating: 'negative', by: 'U2' } })))).toContain(':-1: by <@U2>');
    expect(texts(runDetailModal(detail({ feedback: null })))).toContain('No rating yet');
  });

  it('says so when the run has no steps yet', () => {
    const view = runDetailModal(detail({ status: 'proposed', steps: [] }));
    expect(texts(view)).toContain('No steps yet');
    expect(viewViolations(view)).toEqual([]);
  });
});

describe('noticeModal', () => {
  it('is a valid modal for a refusal', () => {
    expect(viewViolations(noticeModal('x'.repeat(5000)))).toEqual([]);
  });
});
