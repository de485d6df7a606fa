/** The CEO agent is told which tools and models exist, and a plan naming others goes back to it with the violation. */
import { describe, expect, it } from 'vitest';
import { planProposal } from '../../../src/engine/llm/ceoAgent.js';
import type { ChatLlm, LlmRequest } from '../../../src/engine/llm/client.js';
import { createPricer } from '../../../src/engine/money/pricing.js';
import { sampleProposal } from '../../fixtures.js';
import { seed, useDatabase } from '../usecases/support.js';

useDatabase();

const TOOLS = [
  { name: 'web_search', summary: 'Search the web:\nresults with their URLs.' },
  { name: 'web_fetch', summary: 'Read one page as Markdown.' },
];
const MODELS = ['gpt-4o-mini', 'gpt-4o'];
const usage = { input: 100, output: 100, cacheRead: 0, cacheWrite: 0 };

/** Answers each planning call with the next scripted plan, and keeps the prompts it was sent. */
function scriptedCeo(plans: unknown[]) {
  const requests: LlmRequest[] = [];
  const llm = {
    model: 'gpt-4o-mini',
    structured: async (_schema: unknown, _name: string, request: LlmRequest) => {
      requests.push(request);
      const plan = plans[requests.length - 1];
      return { value: plan, violations: [], rawArguments: plan, usage };
    },
  } as unknown as ChatLlm;
  return { llm, requests };
}

const withAnalystKit = (tools: string[], model: string | null) => {
  const p = sampleProposal();
  p.roles[0] = { ...p.roles[0]!, tools, model };
  return p;
};

describe('planProposal', () => {
  it('lists the tools that exist and the models that may be chosen, and sends back a plan naming an unknown tool', async () => {
    const id = await seed({ maxUsd: 10 });
    const { llm, requests } = scriptedCeo([
      withAnalystKit(['web_serch'], 'gpt-4o'),
      withAnalystKit(['web_search', 'web_fetch'], 'gpt-4o'),
    ]);
    const result = await planProposal(
      { orchestrationId: id, llm, pricer: createPricer('gpt-4o-mini', {}) },
      {
        goal: sampleProposal().goal,
        roster: [],
        defaultBudgetUsd: 2,
        maxBudgetUsd: 10,
        maxTokens: 4096,
        tools: TOOLS,
        models: MODELS,
      },
    );
    const first = requests[0]!.user;
    expect(first).toContain(
      'Available tools:\n- web_search: Search the web: results with their URLs.\n- web_fetch: Read',
    );
    expect(first).toContain('Models that may be chosen:\n- gpt-4o-mini (the default: model null)\n- gpt-4o');
    expect(requests[1]!.user).toContain('- roles[0] ("analyst"): tool "web_serch" is not one of the available tools');
    expect(result.attempts).toBe(2);
    expect(result.proposal.roles[0]).toMatchObject({ tools: ['web_search', 'web_fetch'], model: 'gpt-4o' });
  });

  it('offers no tools and only the planning model when it is given none, and holds the plan to that', async () => {
    const id = await seed({ maxUsd: 10 });
    const { llm, requests } = scriptedCeo([withAnalystKit([], 'gpt-4o'), withAnalystKit([], null)]);
    const result = await planProposal(
      { orchestrationId: id, llm, pricer: createPricer('gpt-4o-mini', {}) },
      { goal: 'g', roster: [], defaultBudgetUsd: 2, maxBudgetUsd: 10, maxTokens: 4096 },
    );
    expect(requests[0]!.user).toContain('Available tools:\n(none: every role gets tools: [])');
    expect(requests[1]!.user).toContain('model "gpt-4o" cannot be chosen');
    expect(result.proposal.roles[0]!.model).toBeNull();
  });
});
