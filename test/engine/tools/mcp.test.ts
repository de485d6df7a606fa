/**
 * MCP servers through @langchain/mcp-adapters, against fakes built with the official SDK: a stdio one
 * (its own process) and a streamable-HTTP one on 127.0.0.1. Servers down at start are reported and left
 * out, without their secrets in the log; a server that dies mid-run costs only its own calls.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpTools, mcpToolName } from '../../../src/engine/tools/mcp.js';
import { FakeMcpHttpServer, NOTES, stdioServerSetting } from '../../fakes/fakeMcpServer.js';
import { captureLogger } from '../../helpers/captureLogger.js';

const SECRETS = {
  notesHeader: 'Bearer notes-header-secret-1',
  offlineHeader: 'Bearer offline-header-secret-2',
  missingEnv: 'missing-env-secret-3',
  appEnv: 'app-only-secret-4',
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const http = new FakeMcpHttpServer();
const logs: string[] = [];
let mcp: McpTools;
let offlinePort = 0;

beforeAll(async () => {
  await http.start();
  http.requiredHeader = { name: 'authorization', value: SECRETS.notesHeader };
  offlinePort = await closedPort();
  // A secret of the app itself, which no MCP server process may inherit.
  process.env.ORCHESTRATE_TEST_APP_SECRET = SECRETS.appEnv;
  mcp = await McpTools.start(
    {
      local: stdioServerSetting({ FAKE_LABEL: 'from-config' }),
      notes: { url: http.url, headers: { authorization: SECRETS.notesHeader } },
      offline: { url: `http://127.0.0.1:${offlinePort}/mcp`, headers: { authorization: SECRETS.offlineHeader } },
      missing: { command: 'orchestrate-no-such-mcp-server', args: [], env: { API_KEY: SECRETS.missingEnv } },
    },
    captureLogger(logs),
    { retryAfterMs: 0 },
  );
});
afterAll(async () => {
  delete process.env.ORCHESTRATE_TEST_APP_SECRET;
  await mcp?.close();
  await http.kill();
});

const call = async (name: string, args: Record<string, unknown> = {}) => {
  const tool = mcp.toolFor(name);
  if (!tool) throw new Error(`no tool ${name}`);
  return tool.invoke(args);
};

describe('MCP servers at start', () => {
  it('offers the tools of the servers that came up, prefixed by server name, one line each', () => {
    expect(mcp.available()).toEqual([
      {
        name: 'local__echo',
        summary: 'Repeat a text back. Used to check the stdio path end to end. (MCP server local)',
      },
      {
        name: 'local__env_names',
        summary: 'Names of the environment variables this process was started with, and FAKE_LABEL. (MCP server local)',
      },
      { name: 'local__refuse', summary: 'Always answers with a tool error. (MCP server local)' },
      { name: 'local__crash', summary: 'Exits the whole server process while answering. (MCP server local)' },
      { name: 'notes__search_notes', summary: 'Find notes that contain a word. (MCP server notes)' },
      { name: 'notes__add', summary: 'Add two numbers. (MCP server notes)' },
    ]);
    expect(mcp.toolFor('offline__search')).toBeNull();
  });

  it('reports each server that is down in one log line with its name and why, never its secrets', () => {
    // Servers start side by side, so their lines come in any order.
    const down = logs.filter((line) => line.includes('is down at start')).sort();
    expect(down).toEqual([
      'warn MCP server "missing" is down at start, its tools are left out: cannot start the command orchestrate-no-such-mcp-server (not found)',
      `warn MCP server "offline" is down at start, its tools are left out: cannot reach 127.0.0.1:${offlinePort} (fetch failed)`,
    ]);
    expect(mcp.report().map(({ name, up }) => ({ name, up }))).toEqual([
      { name: 'local', up: true },
      { name: 'notes', up: true },
      { name: 'offline', up: false },
      { name: 'missing', up: false },
    ]);
    for (const secret of Object.values(SECRETS)) expect(logs.join('\n')).not.toContain(secret.replace('Bearer ', ''));
  });

  it('makes tool names safe for every model API', () => {
    expect(mcpToolName('notes', 'search.v2 (beta)')).toBe('notes__search_v2__beta_');
    expect(mcpToolName('n', 'x'.repeat(80))).toHaveLength(64);
  });
});

describe('MCP tool calls', () => {
  it('calls a stdio tool and an HTTP tool (with its configured header) and answers with their text', async () => {
    expect(await call('local__echo', { text: 'hello' })).toBe('echo: hello');
    expect(await call('notes__search_notes', { query: 'tide' })).toBe(NOTES.join('\n'));
    expect(await call('notes__add', { a: 2, b: 3 })).toBe('5');
  });

  it('gives a stdio server its configured environment and a minimal one, none of the app secrets', async () => {
    const { names, label } = JSON.parse(await call('local__env_names'));
    expect(label).toBe('from-config');
    expect(names).not.toContain('ORCHESTRATE_TEST_APP_SECRET');
    expect(names).toContain('PATH');
  });

  it("answers a tool's own error with a sentence, and the server stays up", async () => {
    expect(await call('local__refuse')).toBe('local__refuse failed (MCP server "local"): the notebook is locked');
    expect(mcp.report().find((s) => s.name === 'local')?.up).toBe(true);
  });

  it('answers with an error when a server no longer offers a tool, and keeps using that server', async () => {
    http.withdrawn.add('add');
    try {
      expect(await call('notes__add', { a: 1, b: 2 })).toMatch(/^notes__add failed \(MCP server "notes"\): .*add/);
      expect(await call('notes__search_notes', { query: 'watch' })).toBe(NOTES[2]);
      expect(logs.some((line) => line.includes('"notes" failed during a call'))).toBe(false);
    } finally {
      http.withdrawn.clear();
    }
  });

  it('ends a call when the run is cancelled', async () => {
    const run = new AbortController();
    run.abort(new Error('run cancelled'));
    await expect(mcp.toolFor('local__echo', run.signal)!.invoke({ text: 'x' })).rejects.toThrow('run cancelled');
  });

  it('answers with an error when the HTTP server is killed mid-run, the others keep working, and it comes back', async () => {
    await http.kill();
    expect(await call('notes__add', { a: 1, b: 1 })).toMatch(
      /^notes__add failed \(MCP server "notes"\): cannot reach 127\.0\.0\.1:\d+ \(fetch failed\)\.$/,
    );
    expect(await call('local__echo', { text: 'still here' })).toBe('echo: still here');
    await http.start();
    expect(await call('notes__add', { a: 1, b: 1 })).toBe('2');
  });

  it('answers with an error when the stdio server crashes during a call, and starts it again on the next call', async () => {
    expect(await call('local__crash')).toBe(
      'local__crash failed (MCP server "local"): its process exited or closed the connection (MCP error -32000: Connection closed).',
    );
    expect(await call('notes__search_notes', { query: 'low' })).toBe(NOTES[1]);
    expect(await call('local__echo', { text: 'back' })).toBe('echo: back');
    expect(logs.some((line) => line.includes('MCP server "local" is up again'))).toBe(true);
  });

  it('answers "down" after close, without a crash', async () => {
    await mcp.close();
    expect(await call('local__echo', { text: 'x' })).toBe(
      'local__echo failed (MCP server "local"): the server is down (the app is shutting down).',
    );
  });
});
