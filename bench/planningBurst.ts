/**
 * Benchmark of a burst of requests: 20 /orchestrate at once, each in its own channel (the outbox
 * posts a message a second per channel, Slack's limit, so one channel could not show 20 proposals
 * in seconds), with every planning call taking 150 ms and the app's own queue settings (a 5 s
 * poll) and Slack pacing. Reports when each proposal was posted, counted from the first command.
 * `npx tsx bench/planningBurst.ts` runs this section alone.
 */
import { pathToFileURL } from 'node:url';
import { type Harness, REQUESTER, SIGNING_SECRET, scriptedResponder, startHarness } from '../test/helpers/harness.js';
import { sendSlashCommand } from '../test/helpers/signedRequests.js';
import { AS_SHIPPED } from './asShipped.js';
import { pct } from './stats.js';

export type Report = (name: string, unit: string, values: number[], note?: string) => void;

const REQUESTS = 20;
const LLM_MS = 150;
const ROUNDS = 3;

/** Seconds from the first command to each proposal's post, one burst. */
async function burst(h: Harness, round: number): Promise<number[]> {
  const channels = Array.from({ length: REQUESTS }, (_, i) => `C_BURST_${round}_${i}`);
  const before = h.slack.calls.length;
  const t = Date.now();
  const acks = await Promise.all(
    channels.map((channel, i) =>
      sendSlashCommand(h.url, SIGNING_SECRET, {
        text: `Burst ${round} request ${i}: write a one-page note`,
        user_id: REQUESTER,
        channel_id: channel,
        response_url: h.slack.responseUrl(`burst-${round}-${i}`),
      }),
    ),
  );
  if (acks.some((a) => a.status !== 200)) throw new Error('a command was not acked');
  const posted = new Map<string, number>();
  const deadline = t + 120_000;
  while (posted.size < REQUESTS && Date.now() < deadline) {
    for (const c of h.slack.calls.slice(before)) {
      const channel = String(c.args.channel ?? '');
      const proposal = c.method === 'chat.postMessage' && c.status === 200 && !c.args.thread_ts;
      if (proposal && channels.includes(channel) && !posted.has(channel)) posted.set(channel, c.at - t);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (posted.size < REQUESTS) console.error(`planningBurst: only ${posted.size}/${REQUESTS} proposals posted in 120 s`);
  return [...posted.values()].map((ms) => ms / 1000);
}

export async function planningBurst(report: Report): Promise<void> {
  const h = await startHarness(
    {
      // The app's defaults: the harness shortens the poll and turns Slack pacing off for tests.
      ORCHESTRATE_PROCESS_EVERY_MS: '5000',
      ORCHESTRATE_SLACK_PACE_MS: '1000',
      ORCHESTRATE_SLACK_COALESCE_MS: '1500',
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    h.llm.responder = scriptedResponder();
    h.llm.delayMs = LLM_MS;
    const all: number[] = [];
    const last: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const times = await burst(h, round);
      all.push(...times);
      last.push(Math.max(...times));
      // Let the burst's redraws and Home tab refreshes settle before the next one.
      await new Promise((r) => setTimeout(r, 3000));
    }
    report(
      `planning burst: ${REQUESTS} /orchestrate at once, last proposal posted`,
      's',
      last,
      `${REQUESTS} channels, ${LLM_MS} ms planning calls, one figure per burst`,
    );
    report(
      `planning burst: ${REQUESTS} /orchestrate at once, each proposal posted`,
      's',
      all,
      `from the first command; ${h.llm.maxConcurrent} planning calls at most at once`,
    );
  } finally {
    await h.stop();
  }
}

// Alone: `npx tsx bench/planningBurst.ts`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await planningBurst((name, unit, values, note = '') =>
    console.log(
      `| ${name} | ${values.length} | ${[50, 95, 99].map((p) => `${pct(values, p).toFixed(2)} ${unit}`).join(' | ')} | ${note} |`,
    ),
  );
  process.exit(0);
}
