/** Sample proposals shared by the tests. */
import type { Config } from '../src/config.js';
import type { DeclaredOutput } from '../src/engine/plan/outputs.js';
import type { Proposal } from '../src/engine/plan/proposal.js';

/** The workspace the tests' signed requests come from (their team_id), and that fixtures are stored in. */
export const TEAM_ID = 'T1';

/** A ticket titled "<prefix> <key>", by an analyst unless said otherwise. */
export const ticket = (prefix: string, key: string, dependsOn: string[] = [], role = 'analyst') => ({
  key,
  title: `${prefix} ${key}`,
  role,
  description: `Do ${key}`,
  dependsOn,
});

export function sampleProposal(overrides: Partial<Proposal> = {}): Proposal {
  return {
    goal: 'Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc',
    roles: [
      {
        key: 'analyst',
        title: 'Market analyst',
        existingAgent: null,
        hire: {
          name: 'Ada',
          persona: 'A sharp market analyst who cites sources.',
          skills: ['market research', 'pricing'],
        },
        tools: [],
        model: null,
      },
      {
        key: 'writer',
        title: 'Positioning writer',
        existingAgent: null,
        hire: {
          name: 'Wren',
          persona: 'A product marketer who writes crisp one-pagers.',
          skills: ['positioning', 'copywriting'],
        },
        tools: [],
        model: null,
      },
    ],
    tickets: [
      {
        key: 'competitors',
        title: 'Map the competitors',
        role: 'analyst',
        description: 'List offline-first recorders and their features.',
        dependsOn: [],
      },
      {
        key: 'pricing',
        title: 'Compare pricing',
        role: 'analyst',
        description: 'Compare pricing models.',
        dependsOn: [],
      },
      {
        key: 'draft',
        title: 'Draft the positioning',
        role: 'writer',
        description: 'Write the one-page positioning doc.',
        dependsOn: ['competitors', 'pricing'],
      },
    ],
    research: { enabled: false, prompt: '', role: null },
    // Hands-off unless a test asks for the pause.
    discussion: {
      enabled: true,
      prompt: 'How should we position against cloud-first recorders?',
      pauseForPeople: false,
    },
    synthesis: { role: 'writer', prompt: 'Produce the final one-page positioning doc.' },
    budget: { maxUsd: 1.5 },
    ...overrides,
  };
}

/** A proposal at the contract's maximum size, with long texts everywhere (and tools and models no app offers). */
export function largestProposal(textLength = 2000): Proposal {
  const long = (seed: string) => `${seed} `.repeat(Math.ceil(textLength / (seed.length + 1))).slice(0, textLength);
  const roles = Array.from({ length: 8 }, (_, i) => ({
    key: `role-${i}`,
    title: long(`Role title ${i} <!channel> & *bold*`).slice(0, 120),
    existingAgent: null,
    hire: {
      name: long(`Agent ${i}`).slice(0, 80),
      persona: long(`Persona ${i} @here`),
      skills: Array.from({ length: 12 }, (_, s) => long(`skill ${s}`).slice(0, 80)),
    },
    tools: Array.from({ length: 32 }, (_, t) => long(`tool_${t}_<!here>`).slice(0, 128)),
    model: long(`model-${i}`).slice(0, 200),
  }));
  // Every ticket declares twelve fields, four of them 20-column tables, written out just under the form's 3,000 characters.
  const output = (i: number): DeclaredOutput => ({
    description: long(`Output ${i} <!here> & *bold*`).slice(0, 300),
    fields: Array.from({ length: 12 }, (_, f) =>
      f < 4
        ? {
            name: `table_${f}`,
            type: 'table' as const,
            columns: Array.from({ length: 20 }, (_, c) => `col_${f}_${c}`),
            maxItems: 99,
          }
        : { name: `field_${f}`, type: 'string' as const, description: long(`About field ${f} <@U1>`).slice(0, 150) },
    ),
  });
  const tickets = Array.from({ length: 16 }, (_, i) => ({
    key: `ticket-${i}`,
    title: long(`Ticket ${i} <@U123> title`).slice(0, 200),
    role: `role-${i % 8}`,
    description: long(`Description ${i} with <https://example.com|link> & stuff`),
    dependsOn: i === 0 ? [] : [`ticket-${i - 1}`, ...(i > 1 ? [`ticket-${i - 2}`] : [])],
    output: output(i),
    uses: i === 0 ? [] : Array.from({ length: 12 }, (_, f) => `ticket-${i - 1}.${f < 4 ? `table_${f}` : `field_${f}`}`),
  }));
  return {
    goal: long('A very long goal <!everyone>').slice(0, 3000),
    roles,
    tickets,
    research: { enabled: true, prompt: long('Research'), role: 'role-0' },
    discussion: { enabled: true, prompt: long('Discuss') },
    synthesis: { role: 'role-7', prompt: long('Synthesize') },
    budget: { maxUsd: 25 },
  };
}

/** LLM settings with two models people may pick, gpt-4o-mini the default; nothing is ever called at this address. */
export const TWO_MODEL_LLM: Config['llm'] = {
  provider: 'openai',
  model: 'gpt-4o-mini',
  models: ['gpt-4o-mini', 'gpt-4o'],
  maxOutputTokens: 2048,
  planMaxOutputTokens: 8192,
  timeoutMs: 1000,
  apiKey: 'sk-test',
  baseUrl: 'http://127.0.0.1:9/v1',
};
