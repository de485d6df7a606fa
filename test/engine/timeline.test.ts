import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { PngWorker } from '../../src/engine/watch/pngWorker.js';
import {
  criticalPath,
  formatCost,
  formatSeconds,
  type TimelineStep,
  timelineSvg,
} from '../../src/engine/watch/timeline.js';
import { renderPng, renderPngOffThread, timelineRenderOptions } from '../../src/engine/watch/timelinePng.js';

const T0 = Date.UTC(2025, 0, 1, 9, 0, 0);
const sec = (s: number): number => T0 + s * 1000;

const step = (key: string, over: Partial<TimelineStep> = {}): TimelineStep => ({
  key,
  title: `Step ${key}`,
  role: 'Analyst',
  state: 'done',
  startedAt: sec(0),
  finishedAt: sec(10),
  costUsd: 0.0123,
  dependsOn: [],
  ...over,
});

/** A chain of n steps, each 10–40 s long, with a mix of states. */
const chain = (n: number): TimelineStep[] =>
  Array.from({ length: n }, (_, i) => {
    const states = ['done', 'failed', 'skipped', 'running', 'waiting'] as const;
    const state = states[i % states.length]!;
    const started = state !== 'waiting' && state !== 'skipped';
    return step(`s${i}`, {
      state,
      startedAt: started ? sec(i * 20) : null,
      finishedAt: started && state !== 'running' ? sec(i * 20 + 10 + (i % 4) * 10) : null,
      dependsOn: i > 0 ? [`s${i - 1}`] : [],
    });
  });

/** Diamond a → b, a → c, b,c → d, with c longer than b. */
const diamond = (): TimelineStep[] => [
  step('a', { startedAt: sec(0), finishedAt: sec(10) }),
  step('b', { startedAt: sec(10), finishedAt: sec(20), dependsOn: ['a'] }),
  step('c', { startedAt: sec(10), finishedAt: sec(70), dependsOn: ['a'] }),
  step('d', { startedAt: sec(70), finishedAt: sec(80), dependsOn: ['b', 'c'] }),
];

const bars = (svg: string): string[] => svg.match(/<rect [^>]*class="bar[^>]*>/g) ?? [];
const criticalKeys = (svg: string): string[] =>
  bars(svg)
    .filter((b) => b.includes('class="bar critical"'))
    .map((b) => /data-step="([^"]*)"/.exec(b)?.[1] ?? '');

describe('timelineSvg', () => {
  it.each([1, 5, 16])('draws exactly one bar per step for %i steps', (n) => {
    const { svg } = timelineSvg(chain(n), { title: 'Run', now: sec(400) });
    expect(svg.match(/class="bar/g)).toHaveLength(n);
    expect(bars(svg).map((b) => /data-step="([^"]*)"/.exec(b)?.[1])).toEqual(chain(n).map((s) => s.key));
  });

  it('grows in height with the number of rows and keeps a fixed width', () => {
    const one = timelineSvg(chain(1), { title: 'Run' });
    const sixteen = timelineSvg(chain(16), { title: 'Run' });
    expect(sixteen.width).toBe(one.width);
    expect(sixteen.height).toBeGreaterThan(one.height);
    expect(sixteen.svg).toContain(`height="${sixteen.height}"`);
  });

  it('handles no steps and all-zero durations without NaN or Infinity', () => {
    const empty = timelineSvg([], { title: 'Empty run' });
    const instant = timelineSvg([step('x', { finishedAt: sec(0) }), step('y', { startedAt: null, finishedAt: null })], {
      title: 'Instant',
    });
    for (const { svg } of [empty, instant]) {
      expect(svg).not.toMatch(/NaN|Infinity/);
      expect(svg).toContain('>0s</text>');
    }
    expect(empty.svg.match(/class="bar/g)).toBeNull();
    expect(instant.svg.match(/class="bar/g)).toHaveLength(2);
  });

  it('marks the critical path bars of a diamond, and only those', () => {
    const { svg } = timelineSvg(diamond(), { title: 'Diamond' });
    expect(criticalKeys(svg)).toEqual(['a', 'c', 'd']);
    expect(svg).toContain('critical path');
  });

  it('colours bars by state and extends a running step to now', () => {
    const steps = [step('done'), step('run', { state: 'running', startedAt: sec(0), finishedAt: null })];
    const { svg } = timelineSvg(steps, { title: 'Live', now: sec(60) });
    const [doneBar, runBar] = bars(svg);
    expect(doneBar).toContain('data-state="done"');
    expect(runBar).toContain('data-state="running"');
    expect(doneBar).not.toEqual(runBar?.replace('data-state="running"', 'data-state="done"'));
    const widthOf = (b: string | undefined): number => Number(/ width="([\d.]+)"/.exec(b ?? '')?.[1]);
    expect(widthOf(runBar)).toBeGreaterThan(widthOf(doneBar) * 5);
  });

  it('labels rows with role and cost and the axis in minutes and seconds', () => {
    const steps = [
      step('cheap', { role: 'Competitive Analyst', costUsd: 0.0042, finishedAt: sec(90) }),
      step('dear', { costUsd: 1.5, startedAt: sec(90), finishedAt: sec(150) }),
    ];
    const { svg } = timelineSvg(steps, { title: 'Costs' });
    expect(svg).toContain('Competitive Analyst · $0.0042');
    expect(svg).toContain('Analyst · $1.50');
    expect(svg).toContain('>1m 30s</text>');
  });

  it('escapes text from the LLM and truncates long titles', () => {
    const nasty = `<script>& "quoted" 'single'`;
    const long = 'A very long title that goes on and on well past forty characters';
    const { svg } = timelineSvg([step('x', { title: nasty, role: 'R&D <lead>' }), step('y', { title: long })], {
      title: 'Run <b>&</b>',
    });
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<b>');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
    expect(svg).toContain('&lt;script&gt;&amp; &quot;quoted&quot; &apos;single&apos;');
    expect(svg).toContain('R&amp;D &lt;lead&gt;');
    expect(svg).not.toContain(long);
    expect(svg).toMatch(/A very long title that goes on and on w?…/);
  });
});

describe('criticalPath', () => {
  it('follows the longest chain of a diamond', () => {
    expect(criticalPath(diamond())).toEqual(['a', 'c', 'd']);
  });

  it('breaks ties by input order and counts unstarted steps as zero', () => {
    const steps = [
      step('a'),
      step('b', { dependsOn: ['a'] }),
      step('c', { dependsOn: ['a'] }),
      step('d', { state: 'waiting', startedAt: null, finishedAt: null, dependsOn: ['c', 'b'] }),
    ];
    expect(criticalPath(steps)).toEqual(['a', 'b', 'd']);
    expect(criticalPath([])).toEqual([]);
  });

  it('survives unknown dependencies and cycles', () => {
    const steps = [step('a', { dependsOn: ['ghost', 'b'] }), step('b', { dependsOn: ['a'] })];
    expect(criticalPath(steps)).toEqual(['b', 'a']);
  });
});

describe('formatting', () => {
  it('formats cost and durations', () => {
    expect(formatCost(0.0042)).toBe('$0.0042');
    expect(formatCost(0.0123)).toBe('$0.01');
    expect(formatCost(0.5)).toBe('$0.50');
    expect(formatSeconds(0)).toBe('0s');
    expect(formatSeconds(90)).toBe('1m 30s');
    expect(formatSeconds(3900)).toBe('1h 5m');
  });
});

describe('renderPng', () => {
  const timeline = timelineSvg(diamond(), { title: 'Diamond run' });

  it('produces a PNG of the SVG size', () => {
    const png = renderPng(timeline);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(timeline.width);
    expect(png.readUInt32BE(20)).toBe(timeline.height);
  });

  it('draws the same picture on the worker thread as on the event loop', async () => {
    const [offThread, again] = await Promise.all([renderPngOffThread(timeline), renderPngOffThread(timeline)]);
    expect(offThread.equals(renderPng(timeline))).toBe(true);
    expect(again.equals(offThread)).toBe(true);
  });

  it('refuses, rather than hangs, when the worker cannot start', async () => {
    const broken = new PngWorker('/nowhere/resvg.js');
    await expect(broken.render(timeline.svg, timelineRenderOptions())).rejects.toThrow();
    await broken.stop();
  });

  it('really draws text with the shipped font and no system fonts', () => {
    const options = timelineRenderOptions();
    expect(options.font?.loadSystemFonts).toBe(false);
    const withText = new Resvg(timeline.svg, options).render().pixels;
    const withoutText = new Resvg(timeline.svg.replace(/<text\b[^>]*>[\s\S]*?<\/text>/g, ''), options).render().pixels;
    expect(withText.length).toBe(withoutText.length);
    let differing = 0;
    for (let i = 0; i < withText.length; i += 4) {
      if (
        withText[i] !== withoutText[i] ||
        withText[i + 1] !== withoutText[i + 1] ||
        withText[i + 2] !== withoutText[i + 2]
      ) {
        differing++;
      }
    }
    expect(differing).toBeGreaterThan(2000);
  });
});
