import { describe, expect, it } from 'vitest';
import { ActionIds, decodeControlValue } from '../../src/blocks/actionIds.js';
import {
  type RunCardStep,
  type RunCardStepState,
  type RunCardStyle,
  type RunCardView,
  runCardMessage,
  TASK_STATUS,
} from '../../src/blocks/runCard.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { blocksError, messageError } from '../fakes/slackRules.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const ID = '65a1b2c3d4e5f60718293a4b' as OrchestrationId;
const STATES: RunCardStepState[] = ['waiting', 'running', 'done', 'failed', 'skipped'];
const STYLES: RunCardStyle[] = ['plan', 'sections'];
const EVIL = 'Ping <!channel> and <@U1> & @here: R&D';

const step = (overrides: Partial<RunCardStep> = {}): RunCardStep => ({
  key: 'ticket_map',
  title: 'Map the competitors',
  kind: 'ticket',
  role: 'Market analyst',
  agent: 'Ada',
  state: 'done',
  durationMs: 65_000,
  costUsd: 0.0123,
  ...overrides,
});

const view = (steps: RunCardStep[], overrides: Partial<RunCardView> = {}): RunCardView => ({
  orchestrationId: ID,
  revision: 2,
  status: 'executing',
  goal: 'Position our offline-first meeting recorder',
  steps,
  spentUsd: 0.42,
  maxUsd: 1.5,
  elapsedMs: 190_000,
  ...overrides,
});

/** The largest run: research, 8 positions, 16 tickets and the synthesis, every text at its worst. */
function largestSteps(textLength = 600): RunCardStep[] {
  const long = (seed: string) => `${seed} `.repeat(Math.ceil(textLength / (seed.length + 1))).slice(0, textLength);
  const sources = Array.from({ length: 6 }, (_, i) => ({
    url: `https://example.com/${'a'.repeat(200)}/${i}`,
    title: long(`Source ${i} & <!channel>`),
  }));
  const at = (i: number): RunCardStepState => STATES[i % STATES.length]!;
  const base = (i: number) => ({
    role: long(`Role ${i} & <@U1>`),
    agent: long(`Agent ${i} &`),
    state: at(i),
    durationMs: at(i) === 'waiting' ? null : 3_723_000,
    costUsd: 12.3456,
    note: long(`Note ${i} & <!here> the reason`),
    sources,
  });
  return [
    { key: 'research', title: long('Research & <!channel>'), kind: 'research', ...base(0) },
    ...Array.from({ length: 8 }, (_, i) => ({
      key: `discuss_role-${i}`,
      title: long(`Position of role ${i} & *bold*`),
      kind: 'discuss' as const,
      ...base(i + 1),
    })),
    ...Array.from({ length: 16 }, (_, i) => ({
      key: `ticket_t-${i}`,
      title: long(`Ticket ${i} <@U1> & _it_`),
      kind: 'ticket' as const,
      ...base(i + 9),
    })),
    { key: 'synthesis', title: long('Synthesis & more'), kind: 'synthesis', ...base(25) },
  ];
}

/** Every string a person could read, nested task cards included (the shared helpers count only top-level text). */
function textChars(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textChars(v), 0);
  if (!value || typeof value !== 'object') return 0;
  return Object.entries(value).reduce(
    (n, [k, v]) => n + (typeof v === 'string' ? (['text', 'title', 'url'].includes(k) ? v.length : 0) : textChars(v)),
    0,
  );
}

const tasks = (m: { blocks: any[] }) => m.blocks.find((b) => b.type === 'plan')?.tasks ?? [];
const detailsText = (card: any) =>
  card.details.elements.flatMap((s: any) => s.elements.map((e: any) => e.text)).join('');
const sectionText = (m: { blocks: any[] }) =>
  m.blocks
    .filter((b) => b.type === 'section')
    .map((b) => b.text.text)
    .join('\n');

describe('runCardMessage', () => {
  it.each(STYLES)('keeps a 26-step run with worst-case texts within Slack limits (%s)', (style) => {
    const steps = largestSteps();
    expect(steps).toHaveLength(26);
    const m = runCardMessage(view(steps), style);
    expect(blockKitViolations(m)).toEqual([]);
    expect(messageError(m, new Set())).toBeNull();
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    expect(textChars(m.blocks)).toBeLessThan(11_000);
    for (const b of m.blocks) if (b.type === 'section') expect(b.text!.text.length).toBeLessThanOrEqual(3000);
  });

  it('draws a plan of one task card per step, with ids Slack accepts and short plain titles', () => {
    const steps = largestSteps();
    const m = runCardMessage(view(steps), 'plan');
    expect(m.blocks.filter((b) => b.type === 'plan')).toHaveLength(1);
    const cards = tasks(m);
    expect(cards.map((c: any) => c.task_id)).toEqual(steps.map((s) => s.key));
    for (const card of cards) {
      expect(card.type).toBe('task_card');
      expect(card.task_id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(card.title.length).toBeGreaterThan(0);
      expect(card.title.length).toBeLessThanOrEqual(150);
      expect(card.details.type).toBe('rich_text');
      expect(card.details.elements).toHaveLength(1);
      expect(card.sources?.length ?? 0).toBeLessThanOrEqual(3);
    }
  });

  it('the plan style is refused where agent blocks are, and the sections style is not', () => {
    const m = runCardMessage(view(largestSteps()), 'plan');
    expect(blocksError(m.blocks, new Set(['task_card']))).toBe('invalid_blocks');
    const fallback = runCardMessage(view(largestSteps()), 'sections');
    expect(blocksError(fallback.blocks, new Set(['plan', 'task_card']))).toBeNull();
    expect(fallback.blocks.some((b) => b.type === 'plan' || b.type === 'task_card')).toBe(false);
  });

  it('maps each step state to a task_card status, and says "skipped" in the details', () => {
    expect(TASK_STATUS).toEqual({
      waiting: 'pending',
      running: 'in_progress',
      done: 'complete',
      failed: 'error',
      skipped: 'complete',
    });
    const steps = STATES.map((state, i) =>
      step({ key: `s${i}`, title: `Step ${state}`, state, note: state === 'skipped' ? 'budget' : null }),
    );
    const cards = tasks(runCardMessage(view(steps), 'plan'));
    expect(cards.map((c: any) => c.status)).toEqual(['pending', 'in_progress', 'complete', 'error', 'complete']);
    expect(detailsText(cards[4])).toContain('skipped: budget');
    expect(detailsText(cards[2])).toBe('Market analyst · Ada · 1m 5s · $0.01');
  });

  it.each(STYLES)('shows every step exactly once, with its state (%s)', (style) => {
    const steps = STATES.map((state, i) =>
      step({ key: `s${i}`, title: `Unique step title ${i}`, state, note: state === 'failed' ? 'timeout' : null }),
    );
    const m = runCardMessage(view(steps), style);
    const all = JSON.stringify(m.blocks);
    for (const s of steps) expect(all.split(s.title)).toHaveLength(2);
    if (style === 'plan') {
      expect(tasks(m)).toHaveLength(steps.length);
      expect(detailsText(tasks(m)[3])).toContain('failed: timeout');
    } else {
      const text = sectionText(m);
      expect(text).toContain(':white_circle: *1. Unique step title 0* · _waiting_');
      expect(text).toContain(':large_blue_circle: *2. Unique step title 1* · _running_');
      expect(text).toContain(':large_green_circle: *3. Unique step title 2* · _done_');
      expect(text).toContain(':red_circle: *4. Unique step title 3* · _failed_');
      expect(text).toContain('timeout');
      expect(text).toContain(':heavy_minus_sign: *5. Unique step title 4* · _skipped_');
    }
  });

  it('neutralises mentions and escapes & in LLM-written texts, in both styles and the fallback text', () => {
    const steps = [step({ title: EVIL, role: EVIL, agent: EVIL, note: EVIL, state: 'failed' })];
    for (const style of STYLES) {
      const m = runCardMessage(view(steps, { goal: EVIL }), style);
      const all = JSON.stringify(m);
      expect(all).not.toContain('<!channel>');
      expect(all).not.toContain('<@U1>');
      expect(all).not.toMatch(/@here/);
      expect(m.text).toContain('R&amp;D');
      if (style === 'sections') {
        expect(sectionText(m)).toContain('&lt;!channel&gt;');
        expect(sectionText(m)).not.toMatch(/&(?!amp;|lt;|gt;)/);
      }
    }
  });

  it('puts sources on the task card, and as links in the sections', () => {
    const sources = [
      { url: 'https://example.com/a', title: 'Competitor <!channel> pricing' },
      { url: 'javascript:alert(1)', title: 'bad' },
      { url: 'https://example.com/b', title: '' },
    ];
    const m = runCardMessage(view([step({ key: 'research', kind: 'research', sources }), step()]), 'plan');
    const [research, other] = tasks(m);
    expect(research.sources).toHaveLength(2);
    expect(research.sources[0]).toMatchObject({ type: 'url', url: 'https://example.com/a' });
    expect(research.sources[0].text).not.toContain('<!channel>');
    expect(research.sources[1]).toEqual({ type: 'url', url: 'https://example.com/b', text: 'example.com' });
    expect(other.sources).toBeUndefined();
    const sections = sectionText(runCardMessage(view([step({ sources })]), 'sections'));
    expect(sections).toContain('<https://example.com/a|');
    expect(sections).not.toContain('javascript:');
  });

  it('says status, spend and elapsed time at the top and in the fallback text', () => {
    for (const style of STYLES) {
      const m = runCardMessage(view([step(), step({ key: 'b', state: 'running' })]), style);
      const head = (m.blocks[0] as any).text.text;
      expect(head).toContain('Approved → executing');
      expect(head).toContain('1/2 steps done');
      expect(head).toContain('spend $0.42 of $1.50');
      expect(head).toContain('elapsed 3m 10s');
      expect(m.text).toContain('spent $0.42 of $1.50');
      expect(m.text).not.toContain(':gear:');
    }
    const notStarted = runCardMessage(view([], { status: 'approved', elapsedMs: null, spentUsd: 0 }), 'sections');
    expect((notStarted.blocks[0] as any).text.text).not.toContain('elapsed');
    expect(messageError(notStarted, new Set())).toBeNull();
  });

  it('offers Pause while running, Resume once paused, Start the work while waiting for people, and nothing once ended', () => {
    const ids = (m: { blocks: any[] }) =>
      m.blocks.filter((b) => b.type === 'actions').flatMap((b: any) => b.elements.map((e: any) => e.action_id));
    expect(ids(runCardMessage(view([step()]), 'plan'))).toEqual([ActionIds.pauseRun]);
    const paused = runCardMessage(view([step()], { paused: true }), 'plan');
    expect(ids(paused)).toEqual([ActionIds.resumeRun]);
    expect((paused.blocks[0] as any).text.text).toContain('paused');
    const waiting = runCardMessage(view([step()], { waitingForPeople: true }), 'sections');
    expect(ids(waiting)).toEqual([ActionIds.startWork, ActionIds.pauseRun]);
    expect((waiting.blocks[0] as any).text.text).toContain('waiting for people');
    for (const status of ['completed', 'failed', 'cancelled'] as const)
      expect(ids(runCardMessage(view([step()], { status }), 'plan'))).toEqual([]);
    const value = (runCardMessage(view([step()]), 'plan').blocks.at(-1) as any).elements[0].value;
    expect(decodeControlValue(value)).toMatchObject({ revision: expect.any(Number) });
  });
});
