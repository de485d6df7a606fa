/**
 * The cost table posted when a run ends: per step, then totals per role and per model, as
 * monospaced text (it reads as a table on every Slack client), split to stay within limits.
 */
import type { KnownBlock } from '@slack/types';
import type { Rollup } from '../engine/money/rollup.js';
import type { SlackMessage } from './proposal.js';
import { escapeMrkdwn, formatDuration, formatUsd, plain } from './text.js';

const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
const num = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n));

export function rollupMessage(r: Rollup): SlackMessage {
  const lines = [
    `${pad('Step', 28)} ${pad('Role', 18)} ${pad('In', 6)} ${pad('Out', 6)} ${pad('Cached', 6)} ${pad('Cost', 9)} Time`,
    ...r.rows.map(
      (s) =>
        `${pad(plain(s.title, 40), 28)} ${pad(plain(s.role, 30), 18)} ${pad(num(s.tokens.input), 6)} ${pad(num(s.tokens.output), 6)} ${pad(num(s.tokens.cached), 6)} ${pad(formatUsd(s.costUsd), 9)} ${s.durationMs === null ? '' : formatDuration(s.durationMs)}`,
    ),
  ];
  const totals = (title: string, list: Rollup['byRole']) =>
    [
      `${title}`,
      ...list.map(
        (t) =>
          `  ${pad(plain(t.key, 40), 30)} ${pad(formatUsd(t.costUsd), 9)} ${t.steps} step${t.steps === 1 ? '' : 's'}`,
      ),
    ].join('\n');
  const code = (text: string): KnownBlock => ({
    type: 'section',
    text: { type: 'mrkdwn', text: `\`\`\`${escapeMrkdwn(text.replace(/`/g, "'"))}\`\`\`` },
  });
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `:bar_chart: *Cost rollup*: ${formatUsd(r.totalUsd)} in all` } },
  ];
  // Section text is capped at 3000 characters: chunk the table by lines.
  let chunk: string[] = [];
  for (const line of lines) {
    if (escapeMrkdwn([...chunk, line].join('\n')).length > 2800) {
      blocks.push(code(chunk.join('\n')));
      chunk = [];
    }
    chunk.push(line);
  }
  if (chunk.length) blocks.push(code(chunk.join('\n')));
  blocks.push(code(`${totals('Per role', r.byRole)}\n\n${totals('Per model', r.byModel)}`.slice(0, 2900)));
  return { text: `Cost rollup: ${formatUsd(r.totalUsd)}`, blocks };
}
