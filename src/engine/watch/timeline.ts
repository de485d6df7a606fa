/**
 * The picture posted when a run ends: its steps as bars on a time axis, coloured by state, with the
 * critical path outlined. Pure (no clock, no I/O) so the same steps always give the same SVG.
 */

export type TimelineStepState = 'waiting' | 'running' | 'done' | 'failed' | 'skipped';

export interface TimelineStep {
  key: string;
  title: string;
  role: string;
  state: TimelineStepState;
  /** Epoch ms; null when the step never started. */
  startedAt: number | null;
  /** Epoch ms; null while running or when it never started. */
  finishedAt: number | null;
  costUsd: number;
  /** Keys of the steps it waits for. */
  dependsOn: string[];
}

export interface TimelineSvg {
  svg: string;
  width: number;
  height: number;
}

const WIDTH = 1200;
const HEADER_HEIGHT = 64;
const ROW_HEIGHT = 40;
const AXIS_HEIGHT = 36;
const LEGEND_HEIGHT = 40;
const MARGIN = 20;
const LABEL_WIDTH = 380;
const CHART_LEFT = MARGIN + LABEL_WIDTH;
const CHART_RIGHT = WIDTH - MARGIN - 10;
const BAR_HEIGHT = 20;
const PLACEHOLDER_HEIGHT = 6;
const PLACEHOLDER_WIDTH = 6;
const MIN_BAR_WIDTH = 3;
const TITLE_MAX_CHARS = 40;
const FONT = 'font-family="DejaVu Sans"';

const STATE_FILL: Record<TimelineStepState, string> = {
  done: '#2e9d4f',
  failed: '#d64541',
  skipped: '#9a9a9a',
  running: '#2f7ed8',
  waiting: '#d9d9d9',
};
const CRITICAL_STROKE = '#111111';

/** Nice tick spacings, in seconds; the first giving at most MAX_TICKS intervals wins. */
const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MAX_TICKS = 6;

/**
 * Keys on the critical path: the chain of dependencies whose summed durations is longest
 * (ties: earlier/first in input order). Steps that never started count 0.
 */
export function criticalPath(steps: readonly TimelineStep[]): string[] {
  return criticalPathUntil(steps, latestTime(steps));
}

export function timelineSvg(steps: readonly TimelineStep[], options: { title: string; now?: number }): TimelineSvg {
  const started = steps.filter((s) => s.startedAt !== null);
  const origin = started.length > 0 ? Math.min(...started.map((s) => s.startedAt as number)) : 0;
  const openEnd = Math.max(options.now ?? -Infinity, latestTime(steps));
  const spanMs = started.length > 0 ? Math.max(0, Math.max(...started.map((s) => endOf(s, openEnd))) - origin) : 0;
  const tickStepS = TICK_STEPS_S.find((t) => spanMs / 1000 / t <= MAX_TICKS) ?? Math.ceil(spanMs / 1000 / MAX_TICKS);
  // The axis always covers at least one tick interval, so a zero-length run still has a scale to divide by.
  const axisMs = Math.max(1, Math.ceil(spanMs / 1000 / tickStepS)) * tickStepS * 1000;
  const xOf = (t: number): number => CHART_LEFT + ((t - origin) / axisMs) * (CHART_RIGHT - CHART_LEFT);

  const critical = new Set(criticalPathUntil(steps, openEnd));
  const rowsTop = HEADER_HEIGHT;
  const axisTop = rowsTop + steps.length * ROW_HEIGHT;
  const legendTop = axisTop + AXIS_HEIGHT;
  const height = legendTop + LEGEND_HEIGHT;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(MARGIN, 30, truncate(options.title, 90), { size: 18, bold: true }),
    text(MARGIN, 52, summaryLine(steps, spanMs), { size: 12, fill: '#555555' }),
  );
  if (steps.length === 0) {
    parts.push(text(CHART_LEFT, rowsTop - 4, 'No steps to show', { size: 12, fill: '#777777' }));
  }

  for (let tick = 0; tick * tickStepS * 1000 <= axisMs; tick++) {
    const x = fmt(xOf(origin + tick * tickStepS * 1000));
    parts.push(
      `<line x1="${x}" y1="${rowsTop}" x2="${x}" y2="${axisTop + 4}" stroke="#e6e6e6" stroke-width="1"/>`,
      text(Number(x), axisTop + 20, formatSeconds(tick * tickStepS), { size: 11, fill: '#555555', anchor: 'middle' }),
    );
  }
  parts.push(
    `<line x1="${CHART_LEFT}" y1="${axisTop}" x2="${CHART_RIGHT}" y2="${axisTop}" stroke="#888888" stroke-width="1"/>`,
  );

  steps.forEach((step, row) => {
    const rowTop = rowsTop + row * ROW_HEIGHT;
    if (row % 2 === 1) {
      parts.push(`<rect x="0" y="${rowTop}" width="${WIDTH}" height="${ROW_HEIGHT}" fill="#f7f7f7"/>`);
    }
    parts.push(
      text(MARGIN, rowTop + 17, truncate(step.title, TITLE_MAX_CHARS), { size: 13, bold: true }),
      text(MARGIN, rowTop + 33, `${truncate(step.role, 34)} · ${formatCost(step.costUsd)}`, {
        size: 11,
        fill: '#555555',
      }),
      bar(step, rowTop, critical.has(step.key), xOf, openEnd),
    );
  });

  parts.push(legend(legendTop), '</svg>');
  return { svg: parts.join('\n'), width: WIDTH, height };
}

/** "$0.0123" under a cent, so tiny model costs don't all read "$0.00"; "$1.25" otherwise. */
export function formatCost(usd: number): string {
  const value = Number.isFinite(usd) ? usd : 0;
  return `$${value.toFixed(Math.abs(value) < 0.01 ? 4 : 2)}`;
}

/** "0s", "45s", "1m 30s", "2h 5m": the units people read a run's length in. */
export function formatSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return seconds > 0 ? `${minutes}m ${seconds}s` : `${minutes}m`;
  return `${seconds}s`;
}

function bar(
  step: TimelineStep,
  rowTop: number,
  isCritical: boolean,
  xOf: (t: number) => number,
  openEnd: number,
): string {
  const outline = isCritical ? ` stroke="${CRITICAL_STROKE}" stroke-width="3"` : '';
  const attrs =
    `class="bar${isCritical ? ' critical' : ''}" data-step="${escapeXml(step.key)}" ` +
    `data-state="${step.state}" fill="${STATE_FILL[step.state]}"${outline}`;
  if (step.startedAt === null) {
    const y = rowTop + (ROW_HEIGHT - PLACEHOLDER_HEIGHT) / 2;
    return `<rect ${attrs} x="${CHART_LEFT}" y="${y}" width="${PLACEHOLDER_WIDTH}" height="${PLACEHOLDER_HEIGHT}"/>`;
  }
  const x = xOf(step.startedAt);
  const width = Math.max(MIN_BAR_WIDTH, xOf(endOf(step, openEnd)) - x);
  const y = rowTop + (ROW_HEIGHT - BAR_HEIGHT) / 2;
  return `<rect ${attrs} x="${fmt(x)}" y="${y}" width="${fmt(width)}" height="${BAR_HEIGHT}" rx="3"/>`;
}

function legend(top: number): string {
  const parts: string[] = [];
  let x = MARGIN;
  const y = top + 14;
  for (const state of ['done', 'running', 'failed', 'skipped', 'waiting'] as const) {
    parts.push(`<rect class="swatch" x="${x}" y="${y}" width="14" height="14" rx="2" fill="${STATE_FILL[state]}"/>`);
    parts.push(text(x + 20, y + 12, state, { size: 12 }));
    x += 110;
  }
  parts.push(
    `<rect class="swatch" x="${x}" y="${y}" width="14" height="14" rx="2" fill="#ffffff" ` +
      `stroke="${CRITICAL_STROKE}" stroke-width="3"/>`,
    text(x + 20, y + 12, 'critical path', { size: 12 }),
  );
  return parts.join('\n');
}

function summaryLine(steps: readonly TimelineStep[], spanMs: number): string {
  const total = steps.reduce((sum, s) => sum + (Number.isFinite(s.costUsd) ? s.costUsd : 0), 0);
  const count = `${steps.length} step${steps.length === 1 ? '' : 's'}`;
  return `${count} · ${formatSeconds(spanMs / 1000)} elapsed · ${formatCost(total)} total`;
}

function criticalPathUntil(steps: readonly TimelineStep[], openEnd: number): string[] {
  const indexOf = new Map(steps.map((s, i) => [s.key, i]));
  const longest = new Map<string, { total: number; via: string | null }>();
  const visiting = new Set<string>();

  const solve = (step: TimelineStep): number => {
    const known = longest.get(step.key);
    if (known) return known.total;
    visiting.add(step.key);
    let best: { total: number; via: string | null; index: number } = { total: 0, via: null, index: Infinity };
    for (const depKey of step.dependsOn) {
      const index = indexOf.get(depKey);
      const dep = index === undefined ? undefined : steps[index];
      // Unknown keys and cycle edges can't be part of a real chain; skip them rather than fail the picture.
      if (index === undefined || dep === undefined || visiting.has(depKey)) continue;
      const total = solve(dep);
      const longer = best.via === null || total > best.total;
      if (longer || (total === best.total && index < best.index)) best = { total, via: depKey, index };
    }
    visiting.delete(step.key);
    const total = best.total + durationOf(step, openEnd);
    longest.set(step.key, { total, via: best.via });
    return total;
  };

  // A chain ends where nothing waits on it, so a final step that never started still closes the path.
  const waitedOn = new Set(steps.flatMap((s) => s.dependsOn));
  const sinks = steps.filter((s) => !waitedOn.has(s.key));
  let end: string | null = null;
  let endTotal = -Infinity;
  for (const step of sinks.length > 0 ? sinks : steps) {
    const total = solve(step);
    if (total > endTotal) {
      endTotal = total;
      end = step.key;
    }
  }

  const path: string[] = [];
  for (let key = end; key !== null; key = longest.get(key)?.via ?? null) {
    if (path.includes(key)) break;
    path.unshift(key);
  }
  return path;
}

function durationOf(step: TimelineStep, openEnd: number): number {
  return step.startedAt === null ? 0 : Math.max(0, endOf(step, openEnd) - step.startedAt);
}

/** A started step without a finish is still going, so it reaches the open end of the picture. */
function endOf(step: TimelineStep, openEnd: number): number {
  if (step.startedAt === null) return openEnd;
  return Math.max(step.startedAt, step.finishedAt ?? openEnd);
}

function latestTime(steps: readonly TimelineStep[]): number {
  let latest = -Infinity;
  for (const s of steps) {
    if (s.startedAt !== null) latest = Math.max(latest, s.startedAt);
    if (s.finishedAt !== null) latest = Math.max(latest, s.finishedAt);
  }
  return Number.isFinite(latest) ? latest : 0;
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size: number; bold?: boolean; fill?: string; anchor?: 'start' | 'middle' | 'end' },
): string {
  const weight = style.bold ? ' font-weight="bold"' : '';
  const anchor = style.anchor && style.anchor !== 'start' ? ` text-anchor="${style.anchor}"` : '';
  return (
    `<text x="${fmt(x)}" y="${y}" ${FONT} font-size="${style.size}"${weight}${anchor} ` +
    `fill="${style.fill ?? '#222222'}">${escapeXml(content)}</text>`
  );
}

/** Titles come from an LLM: one line, and cut on whole characters so an emoji is never split in half. */
function truncate(value: string, maxChars: number): string {
  const chars = Array.from(value.replace(/\s+/g, ' ').trim());
  return chars.length > maxChars
    ? `${chars
        .slice(0, maxChars - 1)
        .join('')
        .trimEnd()}…`
    : chars.join('');
}

function escapeXml(value: string): string {
  return (
    value
      // Control characters are not allowed in XML at all; one would make the whole picture fail to parse.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}
