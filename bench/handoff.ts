/**
 * The step hand-off: five 8-ticket chains with an instant LLM; the gap is a dependency's answer →
 * its dependent's request. `npm run bench` runs it in its table (after 60 `/orchestrate` acks);
 * `npx tsx bench/handoff.ts` runs it alone, after the same 60 requests, so that the database holds
 * what it holds in the full bench.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Orchestration } from '../src/models/orchestration.js';
import { sampleProposal } from '../test/fixtures.js';
import { eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../test/helpers/harness.js';
import { AS_SHIPPED } from './asShipped.js';
import { pct } from './stats.js';

const KEYS = 'abcdefgh'.split('');

export interface HandoffFigures {
  /** ms from a dependency's answer to its dependent's request. */
  gaps: number[];
  /** ms from Approve to completed, per chain. */
  runs: number[];
}

export async function chainHandoffs(h: Harness, chains = 5): Promise<HandoffFigures> {
  const chain = sampleProposal({
    tickets: KEYS.map((k, i) => ({
      key: k,
      title: `Chain ${k}`,
      role: 'analyst',
      description: k,
      dependsOn: i ? [KEYS[i - 1]!] : [],
    })),
    discussion: { enabled: false, prompt: '' },
  });
  h.llm.responder = scriptedResponder(chain);
  const gaps: number[] = [];
  const runs: number[] = [];
  for (let run = 0; run < chains; run++) {
    const { value, orchestrationId, ts } = await h.propose(`Chain run ${run}`);
    h.llm.reset();
    const t = performance.now();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(
      async () => (await Orchestration.findById(orchestrationId, { status: 1 }).lean())?.status === 'completed',
      60_000,
      'chain',
    );
    runs.push(performance.now() - t);
    const tickets = KEYS.map((k) => h.llm.requests.find((r) => r.user.includes(`# Your ticket: Chain ${k}`)));
    for (let i = 1; i < tickets.length; i++) {
      const [before, after] = [tickets[i - 1], tickets[i]];
      if (before?.endedAt && after) gaps.push(after.startedAt - before.endedAt);
      else console.error(`bench: chain run ${run}: no request seen for ticket ${KEYS[before ? i : i - 1]}`);
    }
  }
  return { gaps, runs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const h = await startHarness(
    {
      ORCHESTRATE_MAX_PARALLEL: '4',
      ORCHESTRATE_PROCESS_EVERY_MS: '5000',
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    for (let i = 0; i < 60; i++) await h.command(`Benchmark goal ${i}`);
    await new Promise((r) => setTimeout(r, 1500)); // let the plans settle
    const { gaps, runs } = await chainHandoffs(h);
    console.log(`step hand-off p50 ${pct(gaps, 50)} ms, p95 ${pct(gaps, 95)} ms (n ${gaps.length})`);
    console.log(`whole 8-ticket chain p50 ${pct(runs, 50).toFixed(0)} ms, p95 ${pct(runs, 95).toFixed(0)} ms`);
  } finally {
    await h.stop();
  }
  process.exit(0);
}
