/**
 * A stdio MCP server built with the official SDK, run as its own process by the MCP tests
 * (`node --import tsx test/fakes/mcpStdioServer.ts`): it echoes, says which environment it was given,
 * fails as a tool, and can crash in the middle of a call, as a real server's process may.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'fake-stdio', version: '1.0.0' });

server.registerTool(
  'echo',
  { description: 'Repeat a text back. Used to check the stdio path end to end.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text: `echo: ${text}` }] }),
);

server.registerTool(
  'env_names',
  { description: 'Names of the environment variables this process was started with, and FAKE_LABEL.' },
  async () => ({
    content: [
      {
        type: 'text',
        text: JSON.stringify({ names: Object.keys(process.env).sort(), label: process.env.FAKE_LABEL ?? null }),
      },
    ],
  }),
);

server.registerTool('refuse', { description: 'Always answers with a tool error.' }, async () => ({
  isError: true,
  content: [{ type: 'text', text: 'the notebook is locked' }],
}));

server.registerTool('crash', { description: 'Exits the whole server process while answering.' }, async () => {
  process.exit(3);
});

await server.connect(new StdioServerTransport());
