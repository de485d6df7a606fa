/** A plan that mentions its goal's parameters everywhere text may, with every kind of identifier beside them. */
import type { Proposal } from '../../../src/engine/plan/proposal.js';
import { sampleProposal } from '../../fixtures.js';

export const GOAL = 'Weekly competitor brief on Acme for Q3, for the analyst team';

/** `mention` is put in every text field; the identifiers (keys, references, tools, model, roster name) are fixed. */
export function richProposal(goal = GOAL, mention = 'Acme in Q3'): Proposal {
  const base = sampleProposal({ goal });
  return {
    ...base,
    roles: [
      {
        key: 'analyst',
        title: `Market analyst for ${mention}`,
        existingAgent: null,
        hire: { name: `Ada of ${mention}`, persona: `Knows ${mention} well.`, skills: [`${mention} pricing`] },
        tools: ['web_search'],
        model: 'gpt-4o-mini',
      },
      { key: 'writer', title: `Writer on ${mention}`, existingAgent: 'Wren', hire: null, tools: [], model: null },
    ],
    tickets: [
      {
        key: 'competitors',
        title: `Map ${mention}`,
        role: 'analyst',
        description: `List what ${mention} offers.`,
        dependsOn: [],
        output: {
          description: `The matrix of ${mention}`,
          fields: [{ name: 'matrix', type: 'table', columns: ['name', 'pricing'], description: `rows on ${mention}` }],
        },
      },
      {
        key: 'draft',
        title: `Draft the brief on ${mention}`,
        role: 'writer',
        description: `Write the brief on ${mention}.`,
        dependsOn: ['competitors'],
        uses: ['competitors.matrix'],
        review: true,
      },
    ],
    research: { enabled: true, prompt: `Research ${mention}`, role: 'analyst' },
    discussion: { enabled: true, prompt: `How does ${mention} compare?`, pauseForPeople: false },
    synthesis: { role: 'writer', prompt: `Produce the brief on ${mention}.` },
    budget: { maxUsd: 2 },
  };
}

/** Every identifier of a plan, in order: what instantiation must never change. */
export function identifiersOf(p: Proposal): unknown {
  return {
    roles: p.roles.map((r) => [r.key, r.existingAgent, r.tools, r.model]),
    tickets: p.tickets.map((t) => [
      t.key,
      t.role,
      t.dependsOn,
      t.uses,
      t.review,
      t.output?.fields.map((f) => [f.name, f.type, f.columns, f.maxItems]),
    ]),
    research: [p.research.enabled, p.research.role],
    discussion: [p.discussion.enabled, p.discussion.pauseForPeople],
    synthesis: p.synthesis.role,
    budget: p.budget,
  };
}
