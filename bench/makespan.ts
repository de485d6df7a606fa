/**
 * Benchmark of how close a run gets to its critical path: a 5-ticket plan (a, then b, c and d at
 * once, then e, then the synthesis) with every LLM call taking 400 ms, so the critical path is
 * four calls (1.6 s) whatever the engine does. Reports makespan ÷ critical path (approve click →
 * completed) and how many of the three independent tickets ran at once; first with Slack unpaced
 * (the engine's own overhead, as the other benchmarks), then at the app's default pacing. Each run
 * has a channel of its own, so no run waits behind another's posts.
 * `npx tsx bench/makespan.ts` runs this section alone.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Ticket } from '../src/engine/plan/proposal.js';
import { Orchestration } from '../src/models/orchestration.js';
import { sampleProposal } from '../test/fixtures.js';
import {
  eventually,
  findButton,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  scriptedResponder,
  startHarness,
} from '../test/helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../test/helpers/signedRequests.js';
import { AS_SHIPPED } from './asShipped.js';
import { pct } from './stats.js';

let wallAt = 0;
export type Report = (name: string, unit: string, values: number[], note?: string) => void;

const LLM_MS = 400;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** a; b, c, d on a; e on all three; then the synthesis: four calls in a row. */
const CRITICAL_CALLS = 4;

function fiveTickets(): Ticket[] {
  const t = (key: string, dependsOn: string[]): Ticket => ({
    key,
    title: `Wave ${key}`,
    role: 'analyst',
    description: `Part ${key}.`,
    dependsOn,
  });
  return [t('a', []), t('b', ['a']), t('c', ['a']), t('d', ['a']), t('e', ['b', 'c', 'd'])];
}

/** Most requests in flight at one moment among `spans`. */
function peak(spans: { startedAt: number; endedAt: number | null }[]): number {
  const inFlightAt = (t: number) => spans.filter((o) => o.startedAt <= t && (o.endedAt ?? Infinity) > t).length;
  return Math.max(0, ...spans.map((s) => inFlightAt(s.startedAt)));
}

/** /orchestrate in `channel`, then the approve click once the proposal is posted; the click's time. */
async function proposeAndApprove(h: Harness, channel: string, goal: string): Promise<{ id: string; at: number }> {
  await sendSlashCommand(h.url, SIGNING_SECRET, {
    text: goal,
    user_id: REQUESTER,
    channel_id: channel,
    response_url: h.slack.responseUrl(goal),
  });
  const posted = await h.slack.waitFor(
    (c) => c.method === 'chat.postMessage' && c.args.channel === channel && !c.args.thread_ts,
    30_000,
  );
  const value = findButton(posted, 'orchestrate.approve')!.value;
  const id = JSON.parse(value).orchestrationId as string;
  const ts = await eventually(async () => (await Orchestration.findById(id).lean())?.messageTs, 5000, 'the ts');
  h.llm.reset();
  h.llm.delayMs = LLM_MS;
  const at = performance.now();
  wallAt = Date.now();
  const payload = blockActionPayload({
    userId: REQUESTER,
    channelId: channel,
    messageTs: ts,
    actionId: 'orchestrate.approve',
    value,
  });
  await sendInteraction(h.url, SIGNING_SECRET, payload);
  return { id, at };
}

async function untilCompleted(id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await Orchestration.findById(id, { status: 1 }).lean())?.status !== 'completed') {
    if (Date.now() > deadline) throw new Error('the 5-ticket run did not complete');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function measure(report: Report, paced: boolean): Promise<void> {
  const plan = sampleProposal({
    tickets: fiveTickets(),
    discussion: { enabled: false, prompt: '' },
    research: { enabled: false, prompt: '', role: null },
  });
  const h = await startHarness(
    {
      ORCHESTRATE_MAX_PARALLEL: '4',
      ORCHESTRATE_PROCESS_EVERY_MS: '5000',
      ...(paced ? { ORCHESTRATE_SLACK_PACE_MS: '1000', ORCHESTRATE_SLACK_COALESCE_MS: '1500' } : {}),
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    h.llm.responder = scriptedResponder(plan);
    const ratios: number[] = [];
    const together: number[] = [];
    const spread: number[] = [];
    const computeRatios: number[] = [];
    const slackFloorRatios: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      h.llm.delayMs = 0;
      const channel = `C_MAKESPAN_${paced ? 'P' : 'U'}${run}`;
      const { id, at } = await proposeAndApprove(h, channel, `Makespan run ${run}`);
      // Polled every 5 ms (as bench/peer.ts does): a coarser poll would add half its period to every figure.
      await untilCompleted(id);
      const tookMs = performance.now() - at;
      ratios.push(tookMs / (CRITICAL_CALLS * LLM_MS));
      // When the last call ended: the engine's own makespan, whatever Slack's pace.
      computeRatios.push((Math.max(...h.llm.requests.map((r) => r.endedAt ?? 0)) - wallAt) / (CRITICAL_CALLS * LLM_MS));
      // Slack takes about a message a second per channel: the run's thread posts set a floor of their own.
      const posts = h.slack.calls.filter(
        (c) => c.args.channel === channel && c.args.thread_ts && c.method === 'chat.postMessage',
      ).length;
      slackFloorRatios.push(tookMs / Math.max(CRITICAL_CALLS * LLM_MS, posts * 1100));
      if (process.env.BENCH_TRACE)
        console.log(
          h.llm.requests
            .map((r) => `${/# Your ticket: Wave (\w)/.exec(r.user)?.[1] ?? 'synth'} ${r.startedAt}-${r.endedAt ?? 0}`)
            .join(' | '),
          'done',
          Math.round(performance.now() - at),
        );
      const middle = h.llm.requests.filter((r) => /# Your ticket: Wave [bcd]\b/.test(r.user));
      together.push(peak(middle));
      spread.push(Math.max(...middle.map((r) => r.startedAt)) - Math.min(...middle.map((r) => r.startedAt)));
      // Let the run's closing posts and redraws land before the next one.
      await new Promise((r) => setTimeout(r, paced ? 3000 : 500));
    }
    report(
      `makespan ÷ critical path, 5 tickets, 400 ms calls, ${paced ? 'Slack paced (app defaults)' : 'Slack unpaced'}`,
      '×',
      ratios,
      `approve → completed over ${CRITICAL_CALLS} × ${LLM_MS} ms; b, c, d ran ${together.join(', ')} at once, their starts ${spread.join(', ')} ms apart`,
    );
    report(
      `  … the last LLM call's end ÷ critical path, ${paced ? 'paced' : 'unpaced'}`,
      '×',
      computeRatios,
      "the engine's own makespan: Slack's pace does not hold steps back",
    );
    if (paced)
      report(
        '  … approve → completed ÷ max(critical path, thread posts × 1.1 s)',
        '×',
        slackFloorRatios,
        'Slack takes a message a second per channel; "completed" waits for the deliverable to be visible',
      );
  } finally {
    await h.stop();
  }
}

export async function makespan(report: Report): Promise<void> {
  await measure(report, false);
  if (!process.env.BENCH_UNPACED_ONLY) await measure(report, true);
}

// Alone: `npx tsx bench/makespan.ts`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await makespan((name, unit, values, note = '') =>
    console.log(
      `| ${name} | ${values.length} | ${[50, 95, 99].map((p) => `${pct(values, p).toFixed(2)} ${unit}`).join(' | ')} | ${note} |`,
    ),
  );
  process.exit(0);
}
