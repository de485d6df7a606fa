/**
 * Benchmarks: `npm run bench`. Figures are percentiles and ratios, never pass/fail: the
 * machines are shared and noisy. Everything runs on 127.0.0.1 against the test fakes and the
 * embedded database, so it measures Orchestrate's own overhead, not an LLM's.
 */
import { performance } from 'node:perf_hooks';
import { proposalMessage } from '../src/blocks/proposal.js';
import { reserve, settle } from '../src/engine/money/budget.js';
import { estimate } from '../src/engine/money/estimate.js';
import { BudgetLeases } from '../src/engine/money/lease.js';
import { createPricer, inputTokensUpperBound } from '../src/engine/money/pricing.js';
import { type OrchestrationId, orchestrationIdOf } from '../src/engine/plan/ids.js';
import { materialize } from '../src/engine/plan/materializer.js';
import { Orchestration } from '../src/models/orchestration.js';
import { Step } from '../src/models/run.js';
import { largestProposal, sampleProposal, TEAM_ID } from '../test/fixtures.js';
import { eventually, REQUESTER, scriptedResponder, startHarness } from '../test/helpers/harness.js';
import { AS_SHIPPED } from './asShipped.js';
import { embeddedLookups } from './embeddedDb.js';
import { chainHandoffs } from './handoff.js';
import { makespan } from './makespan.js';
import { memory } from './memory.js';
import { peer } from './peer.js';
import { planningBurst } from './planningBurst.js';
import { slackPacing } from './slackPacing.js';
import { pct } from './stats.js';

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const rows: string[][] = [];
const report = (name: string, unit: string, values: number[], note = '') =>
  rows.push([
    name,
    String(values.length),
    `${fmt(pct(values, 50))} ${unit}`,
    `${fmt(pct(values, 95))} ${unit}`,
    `${fmt(pct(values, 99))} ${unit}`,
    note,
  ]);

function timeIt(n: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    out.push((performance.now() - t) * 1000);
  }
  return out;
}

async function pureFunctions() {
  const big = largestProposal(2000);
  const roles = Object.fromEntries(
    big.roles.map((r, i) => [
      r.key,
      { agentId: `a${i}`, name: r.hire!.name, title: r.title, persona: r.hire!.persona },
    ]),
  );
  report(
    'materialize (8 roles, 16 tickets)',
    'µs',
    timeIt(5000, () => materialize({ proposal: big, revision: 1, roles, ids: { orchestrationId: 'o' } })),
  );
  const view = {
    orchestrationId: '65a1b2c3d4e5f60718293a4b' as OrchestrationId,
    revision: 1,
    status: 'proposed' as const,
    statusReason: null,
    requesterId: 'U1',
    goal: big.goal,
    proposal: big,
    budget: { maxUsd: 5, spentUsd: 0 },
    approvedBy: null,
    durationMs: null,
  };
  report(
    'proposalMessage (largest plan)',
    'µs',
    timeIt(2000, () => proposalMessage(view)),
  );
  const pricer = createPricer('gpt-4o-mini', {});
  report(
    'estimate (largest plan, no history)',
    'µs',
    timeIt(2000, () => estimate(big, pricer, 2048, [])),
  );
}

async function overSlack() {
  const h = await startHarness(
    {
      ORCHESTRATE_MAX_PARALLEL: '4',
      ORCHESTRATE_PROCESS_EVERY_MS: '5000',
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    // 1. Ack latency of /orchestrate: Slack allows 3 s.
    const acks: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      const res = await h.command(`Benchmark goal ${i}`);
      acks.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`command answered ${res.status}`);
    }
    report(
      '/orchestrate ack (signed HTTP round trip)',
      'ms',
      acks,
      `p99 is ${fmt((100 * pct(acks, 99)) / 3000, 2)}% of Slack's 3 s`,
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the plans settle

    // 2. Step hand-off: a chain of 8 tickets, LLM answering at once. Gap = dependency's answer → dependent's request.
    const { gaps, runs } = await chainHandoffs(h);
    report(
      'step hand-off (dependency done → next LLM request)',
      'ms',
      gaps,
      `vs up to ${h.config.engine.processEveryMs} ms if it waited for a poll`,
    );
    report('whole run, 8-ticket chain + synthesis, instant LLM', 'ms', runs, 'Orchestrate overhead per run');

    // 3. Budget reservations racing on one orchestration.
    const o = await Orchestration.create({
      slackTeamId: TEAM_ID,
      requesterId: 'U',
      channelId: 'C',
      goal: 'bench',
      status: 'executing',
      budget: { maxUsd: 1e9, spentUsd: 0, reservedUsd: 0, warned: false },
    });
    const id = orchestrationIdOf(o);
    for (const parallel of [1, 8, 32]) {
      const latencies = await racing(parallel, async () => {
        const r = await reserve(id, 0.001);
        if (!r.ok) throw new Error('reservation refused');
        // Settled, as a call's hold is: the orchestration carries only the holds in flight.
        return () => settle(id, r.holdId, 0.001, 0.0005);
      });
      report(`reserve() with ${parallel} racing`, 'ms', latencies);
    }
    // 4. A step's calls: room taken from the process' lease (one write grows it, the rest in memory).
    const leases = new BudgetLeases({ quiet: async () => {}, warn: () => {} });
    for (const parallel of [1, 8, 32]) {
      const latencies = await racing(parallel, async () => {
        const taken = await leases.take(id, 0.001, ['executing']);
        if (!taken.ok) throw new Error('no room in the lease');
        return async () => leases.settle(taken.ticket, 0.0005);
      });
      report(`lease take() with ${parallel} racing`, 'ms', latencies, 'what a step call waits for its room');
    }
    await leases.closeAll();
  } finally {
    await h.stop();
  }
}

/**
 * About 400 calls of `take`, `parallel` at once: how long each waited for its room (the settle it
 * returns is made after, untimed).
 */
async function racing(parallel: number, take: () => Promise<() => Promise<unknown>>): Promise<number[]> {
  const latencies: number[] = [];
  for (let round = 0; round < Math.ceil(400 / parallel); round++) {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        const t = performance.now();
        const settleIt = await take();
        latencies.push(performance.now() - t);
        await settleIt();
      }),
    );
  }
  return latencies;
}

/**
 * Reservations are worst cases (every prompt byte a token, every allowed output token): how far
 * above the real cost are they, and does a parallel run under a tight cap still finish?
 * gpt-4o-mini prices, answers of about 750 tokens, 8 tickets at once.
 */
async function tightCap() {
  const wide = sampleProposal({
    tickets: 'abcdefgh'.split('').map((k) => ({
      key: k,
      title: `Wide ${k}`,
      role: 'analyst',
      description: `Part ${k} of the landscape.`,
      dependsOn: [],
    })),
    discussion: { enabled: false, prompt: '' },
    // Room for every call's worst case on its own (the synthesis, reading all eight results, is
    // the largest), but not for eight ticket calls' worst cases at once.
    budget: { maxUsd: 0.0095 },
  });
  const h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '8', LOG_LEVEL: 'error' }, AS_SHIPPED);
  try {
    const script = scriptedResponder(wide);
    const long = 'An analysis paragraph of about the length a model writes. '.repeat(50);
    h.llm.responder = (req) => (req.user.includes('# Your ticket:') ? { text: long } : script(req));
    const pricer = createPricer('gpt-4o-mini', {});
    const ratios: number[] = [];
    const shares: number[] = [];
    let completed = 0;
    let firstRefusalCalls = 0;
    const runs = 5;
    for (let run = 0; run < runs; run++) {
      const { value, orchestrationId, ts } = await h.propose(`Tight cap run ${run}`);
      h.llm.reset();
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      const end = await eventually(
        async () => {
          const d = await Orchestration.findById(orchestrationId).lean();
          return d && ['completed', 'failed'].includes(d.status) ? d : null;
        },
        60_000,
        'tight-cap run',
      );
      if (end.status === 'completed') completed++;
      shares.push((100 * end.budget.spentUsd) / end.budget.maxUsd);
      const steps = await Step.find({ orchestrationId, kind: 'ticket', status: 'succeeded' }).lean();
      let worst = 0;
      for (const r of h.llm.requests.filter((q) => q.user.includes('# Your ticket:'))) {
        worst = pricer.worstCase(inputTokensUpperBound([r.system, r.user]), h.config.llm.maxOutputTokens);
        const step = steps.find((s) => r.user.includes(`# Your ticket: ${s.title}`));
        if (step) ratios.push(worst / step.costUsd);
      }
      // Stopping at the first refused reservation, as the engine once did, ends a run once the
      // calls in flight hold what is left of the cap.
      firstRefusalCalls += Math.min(
        8,
        Math.floor((end.budget.maxUsd - (end.budget.spentUsd - steps.reduce((n, s) => n + s.costUsd, 0))) / worst),
      );
    }
    report('worst case reserved ÷ real cost, per ticket call', '×', ratios, 'gpt-4o-mini, ~750-token answers');
    report(
      'spend as % of a tight cap, 8 tickets at once',
      '%',
      shares,
      `${completed}/${runs} runs completed; failing at the first refused reservation would have stopped each after ${fmt(firstRefusalCalls / runs, 1)} of 8 ticket calls`,
    );
  } finally {
    await h.stop();
  }
}

await pureFunctions();
await overSlack();
await tightCap();
await makespan(report);
await planningBurst(report);
rows.push(...(await slackPacing(report)));
await peer(report);
await embeddedLookups(report);
await memory(report);
const header = ['benchmark', 'n', 'p50', 'p95', 'p99', 'note'];
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
console.log(`\nnode ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
process.exit(0);
