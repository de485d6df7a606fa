/**
 * What a step looked up, in a line, and the sources its result cites, each marked as retrieved in
 * this run or not: the one place people can tell a checked source from a remembered one.
 */
import type { KnownBlock } from '@slack/types';
import { safeMrkdwn } from './text.js';

export interface Citation {
  url: string;
  retrieved: boolean;
}

/** "searched 3×, read 4 pages, used notes__search 1×, 1 tool error"; empty when no tool was used. */
export function toolUseSummary(calls: ReadonlyArray<{ tool: string; error: string | null }>): string {
  if (!calls.length) return '';
  const ok = calls.filter((c) => !c.error);
  const count = (tool: string) => ok.filter((c) => c.tool === tool).length;
  const parts: string[] = [];
  if (count('web_search')) parts.push(`searched ${count('web_search')}×`);
  const pages = count('web_fetch');
  if (pages) parts.push(`read ${pages} page${pages === 1 ? '' : 's'}`);
  const others = new Map<string, number>();
  for (const c of ok)
    if (c.tool !== 'web_search' && c.tool !== 'web_fetch') others.set(c.tool, (others.get(c.tool) ?? 0) + 1);
  for (const [tool, n] of others) parts.push(`used ${tool} ${n}×`);
  const errors = calls.length - ok.length;
  if (errors) parts.push(`${errors} tool error${errors === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** "2 sources retrieved · 1 not retrieved in this run". */
export function citationCounts(citations: readonly Citation[]): string {
  const unverified = citations.filter((c) => !c.retrieved).length;
  const retrieved = citations.length - unverified;
  return [
    retrieved ? `${retrieved} source${retrieved === 1 ? '' : 's'} retrieved` : '',
    unverified ? `${unverified} not retrieved in this run` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

const SHOWN = 12;

/** One line per cited source, its status first; none when nothing is cited. */
export function sourcesBlock(citations: readonly Citation[]): KnownBlock[] {
  if (!citations.length) return [];
  const lines = citations
    .slice(0, SHOWN)
    .map((c) =>
      c.retrieved
        ? `:white_check_mark: retrieved · ${safeMrkdwn(c.url, 300)}`
        : `:warning: not retrieved in this run · ${safeMrkdwn(c.url, 300)}`,
    );
  if (citations.length > SHOWN) lines.push(`…and ${citations.length - SHOWN} more`);
  return [
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `*Sources:* ${citationCounts(citations)}\n${lines.join('\n')}`.slice(0, 3000) },
      ],
    },
  ];
}
