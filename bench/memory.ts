/**
 * Benchmark of the app's memory: the app runs as its own process (under tsx, as in the tests, and
 * built, as `npm start` runs it) against the fake Slack and OpenAI servers and an embedded database
 * started here. Its RSS (/proc/<pid>/status) is sampled every 100 ms: idle for 3 s after start,
 * then while 20 runs are proposed, approved and carried out at once, until all have completed.
 * `npx tsx bench/memory.ts` runs this section alone; `--built-only` skips the tsx process (for repeated runs).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { startEmbeddedMongo } from '../src/db.js';
import type { Proposal } from '../src/engine/plan/proposal.js';
import { Orchestration } from '../src/models/orchestration.js';
import { FakeOpenAI } from '../test/fakes/fakeOpenAI.js';
import { FakeSlack } from '../test/fakes/fakeSlack.js';
import { sampleProposal } from '../test/fixtures.js';
import { startAppProcess } from '../test/helpers/appProcess.js';
import { CHANNEL, findButton, REQUESTER, SIGNING_SECRET, scriptedResponder, testEnv } from '../test/helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../test/helpers/signedRequests.js';
import { eightTickets, type Report } from './slackPacing.js';
import { pct } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = 20;
const LLM_DELAY_MS = 300;
const IDLE_MS = 3000;
const SAMPLE_EVERY_MS = 100;
const TIMEOUT_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const goalOf = (run: number) => `Memory run ${String(run).padStart(2, '0')}: write a one-page note`;

/** VmRSS and VmHWM (the kernel's high-water mark) of a process, in MB; null once it has gone. */
function rssOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples until stopped; returns the RSS samples and the last high-water mark. */
function sampler(pid: number) {
  const samples: number[] = [];
  let hwm = 0;
  const take = () => {
    const r = rssOf(pid);
    if (r) {
      samples.push(r.rss);
      hwm = r.hwm;
    }
  };
  take();
  const timer = setInterval(take, SAMPLE_EVERY_MS);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { samples, hwm };
    },
  };
}

/** `node dist/src/main.js`, as `npm start` runs it, in a fresh directory (no .env); resolves once it listens. */
async function startBuiltApp(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'orchestrate-app-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const deadline = Date.now() + 30_000;
  while (!/listening on port \d+/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the built app did not start:\n${out}`);
    await sleep(50);
  }
  return { child, output: () => out };
}

interface Fakes {
  slack: FakeSlack;
  llm: FakeOpenAI;
  mongoUri: string;
}

/** Command, proposal, approve: one run's part, all 20 at once. */
async function startRun(url: string, fakes: Fakes, goal: string, run: number, deadline: number): Promise<string> {
  const res = await sendSlashCommand(url, SIGNING_SECRET, {
    text: goal,
    user_id: REQUESTER,
    channel_id: CHANNEL,
    response_url: fakes.slack.responseUrl(`cmd-${run}`),
  });
  if (res.status !== 200) throw new Error(`command answered ${res.status}`);
  for (;;) {
    const doc = await Orchestration.findOne({ goal }, { status: 1, messageTs: 1 }).lean();
    if (doc?.status === 'proposed' && doc.messageTs) {
      const posted = fakes.slack.calls.find((c) => c.method === 'chat.postMessage' && c.response?.ts === doc.messageTs);
      const value = posted && findButton(posted, 'orchestrate.approve')?.value;
      if (!value) throw new Error(`the proposal of "${goal}" has no Approve button`);
      const clicked = await sendInteraction(
        url,
        SIGNING_SECRET,
        blockActionPayload({
          userId: REQUESTER,
          channelId: CHANNEL,
          messageTs: doc.messageTs,
          actionId: 'orchestrate.approve',
          value,
          responseUrl: fakes.slack.responseUrl(`click-${run}`),
        }),
      );
      if (clicked.status !== 200) throw new Error(`approve answered ${clicked.status}`);
      return String(doc._id);
    }
    if (Date.now() > deadline) throw new Error(`"${goal}" was not proposed in time`);
    await sleep(50);
  }
}

/** One mode: start the app, sample idle, run 20 at once, stop it. Each mode gets its own database. */
async function measure(mode: 'tsx' | 'built', fakes: Fakes, report: Report): Promise<void> {
  const mongoUri = fakes.mongoUri.replace('/orchestrate?', `/orchestrate_memory_${mode}?`);
  await mongoose.connect(mongoUri);
  const env = {
    ...testEnv(fakes.slack, fakes.llm, mongoUri),
    ORCHESTRATE_SLACK_PACE_MS: '0',
    ORCHESTRATE_SLACK_COALESCE_MS: '0',
  };
  const app =
    mode === 'tsx'
      ? await startAppProcess(env)
      : await startBuiltApp(env).then(async (a) => ({
          ...a,
          port: Number(/listening on port (\d+)/.exec(a.output())![1]),
        }));
  const pid = app.child.pid!;
  const url = `http://127.0.0.1:${app.port}/slack/events`;
  try {
    const idle = sampler(pid);
    await sleep(IDLE_MS);
    const idleResult = idle.stop();

    const busy = sampler(pid);
    const t = Date.now();
    const deadline = t + TIMEOUT_MS;
    const goals = Array.from({ length: RUNS }, (_, i) => goalOf(i + 1));
    const ids = await Promise.all(goals.map((g, i) => startRun(url, fakes, g, i, deadline)));
    for (;;) {
      const done = await Orchestration.countDocuments({ _id: { $in: ids }, status: 'completed' });
      const ended = await Orchestration.countDocuments({ _id: { $in: ids }, status: { $in: ['failed', 'cancelled'] } });
      if (ended) throw new Error(`${ended} of the ${mode} memory runs failed or were cancelled`);
      if (done === RUNS) break;
      if (Date.now() > deadline) throw new Error(`the ${mode} memory runs did not complete: ${done}/${RUNS}`);
      await sleep(100);
    }
    const wallS = (Date.now() - t) / 1000;
    const busyResult = busy.stop();

    const label = mode === 'tsx' ? 'tsx src/main.ts' : 'node dist/src/main.js';
    report(
      `app RSS idle, 3 s after start (${label})`,
      'MB',
      idleResult.samples,
      `high-water mark since start ${idleResult.hwm.toFixed(1)} MB; goal < 150 MB`,
    );
    report(
      `app RSS, ${RUNS} runs in flight (${label})`,
      'MB',
      busyResult.samples,
      `peak ${Math.max(...busyResult.samples).toFixed(1)} MB sampled, high-water mark ${busyResult.hwm.toFixed(1)} MB; ` +
        `${RUNS} × 8 tickets, LLM ${LLM_DELAY_MS} ms/call, MAX_PARALLEL 4, Slack pace 0; all done in ${wallS.toFixed(1)} s; goal < 300 MB`,
    );
  } finally {
    app.child.kill('SIGTERM');
    await new Promise((r) => (app.child.exitCode !== null ? r(null) : app.child.once('exit', r)));
    await mongoose.disconnect();
  }
}

/** The section: idle and in-flight RSS, under tsx and built (`tsc -p tsconfig.build.json` first, into the git-ignored dist/). */
export async function memory(
  report: Report,
  { built = true, tsx = true }: { built?: boolean; tsx?: boolean } = {},
): Promise<void> {
  const proposals = new Map<string, Proposal>();
  for (let i = 1; i <= RUNS; i++) {
    proposals.set(
      goalOf(i),
      sampleProposal({
        goal: goalOf(i),
        tickets: eightTickets(),
        discussion: { enabled: false, prompt: '' },
        research: { enabled: false, prompt: '', role: null },
      }),
    );
  }
  const slack = new FakeSlack();
  const llm = new FakeOpenAI((req) => {
    const goal = [...proposals.keys()].find((g) => req.user.includes(g));
    return scriptedResponder(goal ? proposals.get(goal) : undefined)(req);
  });
  llm.delayMs = LLM_DELAY_MS;
  await Promise.all([slack.start(), llm.start()]);
  const mongo = await startEmbeddedMongo();
  try {
    const fakes = { slack, llm, mongoUri: mongo.uri };
    if (tsx) await measure('tsx', fakes, report);
    if (built) {
      try {
        execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
          cwd: ROOT,
          stdio: 'pipe',
        });
      } catch (error) {
        // tsc still writes the JavaScript when it finds type errors (noEmitOnError is off).
        const out = String((error as { stdout?: Buffer }).stdout ?? '').trim();
        console.error(`memory: the build reported type errors; measuring the JavaScript it wrote anyway:\n${out}`);
      }
      slack.reset();
      llm.reset();
      await measure('built', fakes, report);
    }
  } finally {
    await mongo.stop();
    await Promise.all([slack.stop(), llm.stop()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await memory(
    (name, unit, values, note = '') =>
      console.log(
        `${name}: n ${values.length}, p50 ${pct(values, 50)?.toFixed(1)} ${unit}, p95 ${pct(values, 95)?.toFixed(1)} ${unit}, ${note}`,
      ),
    { tsx: !process.argv.includes('--built-only') },
  );
  process.exit(0);
}
