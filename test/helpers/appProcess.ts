/**
 * Runs the app as its own OS process (`tsx src/main.ts`), the way users run it, so a test can
 * kill -9 it mid-run or send it SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { afterAll, beforeAll } from 'vitest';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';
import { FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { FakeSlack } from '../fakes/fakeSlack.js';
import { scriptedResponder, testEnv } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface AppProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startAppProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<AppProcess> {
  // A fresh working directory, so a developer's .env never leaks into the test.
  const cwd = mkdtempSync(join(tmpdir(), 'orchestrate-app-'));
  // node itself, with tsx as a loader: the tsx CLI would put a second process between us and
  // the app, and a SIGKILL would then miss the app.
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/main.ts')],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /listening on port (\d+)/.exec(out);
    if (match) return { child, port: Number(match[1]), output: () => out, exited };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the app process did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What a test of app processes shares: one database server (in the test's process), the fake Slack
 * and LLM, the processes it started (killed at the end), and the settings that make a dead
 * process's work be taken over within seconds.
 */
export interface ProcessTestBed {
  readonly mongo: EmbeddedServer;
  readonly slack: FakeSlack;
  readonly llm: FakeOpenAI;
  readonly apps: AppProcess[];
  env(): Record<string, string>;
}

export function useProcessTestBed(): ProcessTestBed {
  let mongo: EmbeddedServer;
  let slack: FakeSlack;
  let llm: FakeOpenAI;
  const apps: AppProcess[] = [];
  beforeAll(async () => {
    mongo = await startEmbeddedMongo();
    slack = new FakeSlack();
    llm = new FakeOpenAI(scriptedResponder());
    await Promise.all([slack.start(), llm.start()]);
    await mongoose.connect(mongo.uri);
  });
  afterAll(async () => {
    for (const app of apps) app.child.kill('SIGKILL');
    await mongoose.disconnect();
    await Promise.all([slack.stop(), llm.stop()]);
    await mongo.stop();
  });
  return {
    get mongo() {
      return mongo;
    },
    get slack() {
      return slack;
    },
    get llm() {
      return llm;
    },
    apps,
    env: () => ({
      ...testEnv(slack, llm, mongo.uri),
      ORCHESTRATE_PROCESS_EVERY_MS: '250',
      ORCHESTRATE_LOCK_LIFETIME_MS: '2500',
      LLM_TIMEOUT_MS: '2000',
      ORCHESTRATE_RETRY_BASE_MS: '20',
    }),
  };
}
