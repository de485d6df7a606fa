/**
 * Runs the app as its own OS process (`tsx src/main.ts`), the way users run it, so a test can
 * kill -9 it mid-run or send it SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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
