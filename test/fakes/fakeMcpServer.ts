/**
 * A streamable-HTTP MCP server on 127.0.0.1 built with the official SDK (stateless: a fresh server per
 * request, as many hosted ones run). It searches a few notes and adds numbers, can insist on a header,
 * records the tools called, and can be killed mid-run and started again on the same port. Also how
 * the tests start the stdio fake (mcpStdioServer.ts) as a child process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export const NOTES = [
  'Tide pools hold anemones and sea stars.',
  'The low tide zone has the richest life.',
  'Always watch the incoming tide.',
];

/** The stdio fake as an ORCHESTRATE_MCP_SERVERS entry: node with tsx, which starts in well under a second. */
export function stdioServerSetting(env: Record<string, string> = {}) {
  const script = fileURLToPath(new URL('./mcpStdioServer.ts', import.meta.url));
  return { command: process.execPath, args: ['--import', 'tsx', script], env };
}

export class FakeMcpHttpServer {
  /** Tool names in the order they were called. */
  readonly calls: string[] = [];
  /** When set, requests without this exact header value are answered 401. */
  requiredHeader: { name: string; value: string } | null = null;
  /** Tools the server stops offering, as a server updated under a running app would. */
  readonly withdrawn = new Set<string>();
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  /** Listens on a free port, or on `port` again after `kill()`. */
  async start(port = this.port): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Ends the server at once, every open connection with it: what a crash looks like from outside. */
  async kill(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wanted = this.requiredHeader;
    if (wanted && req.headers[wanted.name.toLowerCase()] !== wanted.value) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const mcp = this.mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  private mcpServer(): McpServer {
    const mcp = new McpServer({ name: 'fake-notes', version: '1.0.0' });
    const searchNotes = mcp.registerTool(
      'search_notes',
      {
        description: 'Find notes that contain a word.\nReturns one note per line.',
        inputSchema: { query: z.string() },
      },
      async ({ query }) => {
        this.calls.push('search_notes');
        const found = NOTES.filter((n) => n.toLowerCase().includes(query.toLowerCase()));
        return { content: [{ type: 'text', text: found.length ? found.join('\n') : 'no notes found' }] };
      },
    );
    const add = mcp.registerTool(
      'add',
      { description: 'Add two numbers.', inputSchema: { a: z.number(), b: z.number() } },
      async ({ a, b }) => {
        this.calls.push('add');
        return { content: [{ type: 'text', text: String(a + b) }] };
      },
    );
    const registered: Record<string, { remove(): void }> = { search_notes: searchNotes, add };
    for (const name of this.withdrawn) registered[name]?.remove();
    return mcp;
  }
}
