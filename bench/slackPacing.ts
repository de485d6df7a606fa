/**
 * Benchmark of the posting path under Slack's real pace: 20 runs of 8 tickets at once in one
 * channel, the fake Slack answering 429 beyond a message a second per channel, the app at its
 * default pacing (a post a second per channel, updates 1.2 s apart, redraws coalesced 1.5 s).
 * Reports the 429s, the Slack calls per run by method, and how long after a run's last LLM answer
 * its plan message shows Completed. `npx tsx bench/slackPacing.ts [--combined]` runs this section alone.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Ticket } from '../src/engine/plan/proposal.js';
import { Orchestration } from '../src/models/orchestration.js';
import { LiveMessage, SlackPost } from '../src/models/slackPost.js';
import type { SlackCall } from '../test/fakes/fakeSlack.js';
import { sampleProposal } from '../test/fixtures.js';
import {
  blocksText,
  CHANNEL,
  findButton,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../test/helpers/harness.js';
import { AS_SHIPPED } from './asShipped.js';
import { pct } from './stats.js';

export type Report = (name: string, unit: string, values: number[], note?: string) => void;

const RUNS = 20;
const TIMEOUT_MS = 10 * 60_000;
/** What the plan message shows once its run is completed (STATUS_LABELS.completed). */
const COMPLETED = ':tada: Completed';
const goalOf = (run: number) => `Pacing run ${String(run).padStart(2, '0')}: write a one-page note`;

/** Four independent tickets and a few chained on them: a → e → f, b + c → g, f + g → h. */
export function eightTickets(): Ticket[] {
  const t = (key: string, dependsOn: string[], role = 'analyst'): Ticket => ({
    key,
    title: `Part ${key}`,
    role,
    description: `Part ${key} of the note.`,
    dependsOn,
  });
  return [
    t('a', []),
    t('b', []),
    t('c', []),
    t('d', []),
    t('e', ['a']),
    t('f', ['e'], 'writer'),
    t('g', ['b', 'c'], 'writer'),
    t('h', ['f', 'g'], 'writer'),
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunState {
  goal: string;
  planTs?: string;
}

/** Polls until `check` holds or the deadline passes; false then. */
async function until(check: () => Promise<boolean> | boolean, deadline: number, everyMs = 100): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Command, proposal, approve: one run's part, in quick succession with the others. */
async function startRun(h: Harness, run: RunState, deadline: number): Promise<void> {
  const res = await h.command(run.goal);
  if (res.status !== 200) throw new Error(`command answered ${res.status}`);
  await until(
    async () => {
      const doc = await Orchestration.findOne({ goal: run.goal }, { status: 1, messageTs: 1 }).lean();
      if (doc?.status !== 'proposed' || !doc.messageTs) return false;
      run.planTs = doc.messageTs;
      return true;
    },
    deadline,
    50,
  );
  if (!run.planTs) return;
  const posted = h.slack.calls.find((c) => c.method === 'chat.postMessage' && c.response?.ts === run.planTs);
  const value = posted && findButton(posted, 'orchestrate.approve')?.value;
  if (!value) throw new Error(`the proposal of "${run.goal}" has no Approve button`);
  const clicked = await h.click('orchestrate.approve', value, REQUESTER, run.planTs);
  if (clicked.status !== 200) throw new Error(`approve answered ${clicked.status}`);
}

const showsCompleted = (h: Harness, run: RunState) =>
  !!run.planTs && JSON.stringify(h.slack.message(CHANNEL, run.planTs)?.blocks ?? []).includes(COMPLETED);

/** Every run's plan message shows Completed, its closing posts have landed and no redraw is left. */
async function allSettled(h: Harness, runs: RunState[]): Promise<boolean> {
  if (!runs.every((r) => showsCompleted(h, r))) return false;
  for (const r of runs) {
    const replies = h.slack.threadReplies(CHANNEL, r.planTs!);
    if (!replies.some((m) => JSON.stringify(m.blocks ?? []).includes('Cost rollup'))) return false;
  }
  const pending = await SlackPost.countDocuments({ status: 'pending' });
  const undrawn = await LiveMessage.countDocuments({ $expr: { $gt: ['$version', '$drawnVersion'] } });
  return pending === 0 && undrawn === 0;
}

/**
 * The section: returns its rows (counts and wall time); percentiles go through `report`. The fake
 * limits chat.postMessage to a message a second per channel, as Slack documents it (chat.update is
 * Tier 3, per workspace: checked below from the calls' times); `limited` widens that, e.g. to
 * chat.update as well, the fake's default.
 */
export async function slackPacing(
  report: Report,
  { limited = ['chat.postMessage'] }: { limited?: string[] } = {},
): Promise<string[][]> {
  const started = performance.now();
  const deadline = Date.now() + TIMEOUT_MS;
  const rows: string[][] = [];
  const h = await startHarness(
    {
      // The app's defaults, set explicitly: the harness turns pacing off for tests.
      ORCHESTRATE_SLACK_PACE_MS: '1000',
      ORCHESTRATE_SLACK_COALESCE_MS: '1500',
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    h.slack.enforceChannelRate({ perSecond: 1, methods: limited });
    const proposals = new Map<string, ReturnType<typeof sampleProposal>>();
    const runs: RunState[] = Array.from({ length: RUNS }, (_, i) => ({ goal: goalOf(i + 1) }));
    for (const r of runs) {
      proposals.set(
        r.goal,
        sampleProposal({
          goal: r.goal,
          tickets: eightTickets(),
          discussion: { enabled: false, prompt: '' },
          research: { enabled: false, prompt: '', role: null },
        }),
      );
    }
    // Each run's plan carries its own goal, so every later prompt of the run names it.
    h.llm.responder = (req) => {
      const goal = runs.find((r) => req.user.includes(r.goal))?.goal;
      return scriptedResponder(goal ? proposals.get(goal) : undefined)(req);
    };

    const startedRuns = await Promise.allSettled(runs.map((r) => startRun(h, r, deadline)));
    const startFailures = startedRuns.filter((s) => s.status === 'rejected');
    const settled = await until(() => allSettled(h, runs), deadline, 250);
    const wallMs = performance.now() - started;
    const completed = runs.filter((r) => showsCompleted(h, r)).length;
    const stopped = settled
      ? ''
      : `STOPPED at the ${TIMEOUT_MS / 60_000} min limit: ${completed}/${RUNS} plan messages show Completed`;
    if (!settled) console.error(`slackPacing: ${stopped}`);
    for (const f of startFailures) console.error(`slackPacing: a run did not start: ${String(f.reason)}`);

    // 429s, and the calls per run by method (429-answered calls included: each is a call Slack saw).
    const model = `${limited.join(' + ')} limited to 1/s/channel`;
    const count = (name: string, value: string, note: string) => rows.push([name, String(RUNS), value, '', '', note]);
    const limitedBy = countBy(h.slack.calls.filter((c) => c.status === 429));
    const byMethod = Object.entries(limitedBy).map(([m, n]) => `${m} ${n}`);
    count(
      'Slack pacing: 429s answered, all runs',
      String(h.slack.rateLimitedCount()),
      [model, ...byMethod, ...(stopped ? [stopped] : [])].join('; '),
    );
    for (const [method, n] of Object.entries(countBy(h.slack.calls)).sort((a, b) => b[1] - a[1])) {
      const refused = limitedBy[method] ? `, ${limitedBy[method]} of them 429` : '';
      count(`Slack pacing: ${method} per run`, `${(n / RUNS).toFixed(2)} mean`, `${n} calls${refused}`);
    }
    // A 429 under a limit the app paces for: how long after the channel's last accepted call it arrived.
    const early: number[] = [];
    let lastAccepted: number | null = null;
    for (const c of h.slack.calls.filter((x) => limited.includes(x.method))) {
      if (c.status === 429 && lastAccepted !== null) early.push(c.at - lastAccepted);
      if (c.status === 200) lastAccepted = c.at;
    }
    if (early.length)
      report('Slack pacing: a 429, ms after the last accepted call', 'ms', early, `min ${pct(early, 0)} ms`);
    // chat.update is Tier 3 (about 50 a minute per workspace): the busiest minute and the closest pair.
    const updates = h.slack.callsTo('chat.update').map((c) => c.at);
    const busiest = Math.max(0, ...updates.map((t) => updates.filter((u) => u >= t && u < t + 60_000).length));
    const gaps = updates.slice(1).map((t, i) => t - updates[i]!);
    count(
      'Slack pacing: chat.update in the busiest minute',
      String(busiest),
      `Tier 3 allows about 50; closest two ${gaps.length ? Math.min(...gaps) : '-'} ms apart`,
    );

    // From the last LLM answer of a run (its synthesis) to what people see.
    const lags = { completed: [] as number[], deliverable: [] as number[], rollup: [] as number[] };
    for (const r of runs) {
      const last = Math.max(...h.llm.requests.filter((q) => q.user.includes(r.goal)).map((q) => q.endedAt ?? 0));
      const landed = (method: string, match: (c: SlackCall) => boolean) =>
        h.slack.calls.find((c) => c.method === method && c.status === 200 && match(c))?.at;
      // The chat.update that first drew Completed on the plan message.
      const completed = landed('chat.update', (c) => c.args.ts === r.planTs && blocksText(c).includes(COMPLETED));
      const inThread = (c: SlackCall) => c.args.thread_ts === r.planTs;
      const deliverable = landed('chat.postMessage', (c) => inThread(c) && truthy(c.args.reply_broadcast));
      const rollup = landed('chat.postMessage', (c) => inThread(c) && blocksText(c).includes('Cost rollup'));
      if (!last) continue;
      if (completed) lags.completed.push(completed - last);
      if (deliverable) lags.deliverable.push(deliverable - last);
      if (rollup) lags.rollup.push(rollup - last);
    }
    const lagRow = (what: string, values: number[]) => {
      if (values.length) report(`Slack pacing: last LLM answer → ${what}`, 'ms', values, `max ${pct(values, 100)} ms`);
    };
    lagRow('plan message shows Completed', lags.completed);
    lagRow('deliverable posted in the thread', lags.deliverable);
    lagRow('cost rollup posted (thread caught up)', lags.rollup);
    rows.push([
      'Slack pacing: section wall time',
      '1',
      `${(wallMs / 1000).toFixed(1)} s`,
      '',
      '',
      stopped || `${RUNS} runs of 8 tickets in one channel, until every post and redraw landed`,
    ]);
    return rows;
  } finally {
    await h.stop();
  }
}

const truthy = (v: unknown) => v === true || v === 'true' || v === '1';

function countBy(calls: SlackCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.method] = (out[c.method] ?? 0) + 1;
  return out;
}

// Alone: `npx tsx bench/slackPacing.ts`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows: string[][] = [];
  const report: Report = (name, unit, values, note = '') =>
    rows.push([name, String(values.length), ...[50, 95, 99].map((p) => `${pct(values, p).toFixed(2)} ${unit}`), note]);
  // `--combined`: chat.update counts against the channel's message a second too (the fake's default).
  const combined = process.argv.includes('--combined');
  rows.push(...(await slackPacing(report, combined ? { limited: ['chat.postMessage', 'chat.update'] } : {})));
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  process.exit(0);
}
