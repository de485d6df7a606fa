import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { criticalPathLength, materialize, type ResolvedRole } from '../../src/engine/plan/materializer.js';
import { type DeclaredOutput, OUTPUT_FIELD_TYPES } from '../../src/engine/plan/outputs.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { validateProposal } from '../../src/engine/plan/validate.js';
import { MaterializeError } from '../../src/errors.js';
import { sampleProposal } from '../fixtures.js';

const rolesFor = (p: Proposal): Record<string, ResolvedRole> =>
  Object.fromEntries(
    p.roles.map((r, i) => [r.key, { agentId: `a${i}`, name: `Agent ${i}`, title: r.title, persona: 'p' }]),
  );

/** A declared output: 1–4 fields of every type, tables with 1–5 columns. */
const outputArb: fc.Arbitrary<DeclaredOutput> = fc.record({
  description: fc.string({ minLength: 1, maxLength: 40 }),
  fields: fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom('matrix', 'summary', 'count', 'ok', 'risks', 'rows'),
        type: fc.constantFrom(...OUTPUT_FIELD_TYPES),
        columns: fc.uniqueArray(fc.constantFrom('name', 'pricing', 'platforms', 'offline', 'notes'), {
          minLength: 1,
          maxLength: 5,
        }),
        maxItems: fc.option(fc.integer({ min: 1, max: 99 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 4, selector: (f) => f.name },
    )
    .map((fields) =>
      fields.map(({ name, type, columns, maxItems }) => ({
        name,
        type,
        ...(type === 'table' ? { columns } : {}),
        ...((type === 'list' || type === 'table') && maxItems !== undefined ? { maxItems } : {}),
      })),
    ),
});

/**
 * Random valid proposals: 1–8 roles, 1–16 tickets, each depending only on earlier ones (so acyclic),
 * some declaring outputs, and some of their dependents using those outputs' fields.
 */
const proposalArb = fc
  .record({
    roleCount: fc.integer({ min: 1, max: 8 }),
    ticketCount: fc.integer({ min: 1, max: 16 }),
    research: fc.boolean(),
    discussion: fc.boolean(),
    edges: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 40 }),
    roleOf: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
    shuffle: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
    outputs: fc.array(fc.option(outputArb, { nil: undefined }), { minLength: 16, maxLength: 16 }),
    pause: fc.constantFrom(true, false, undefined),
    reviews: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
    uses: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
  })
  .map(
    ({
      roleCount,
      ticketCount,
      research,
      discussion,
      edges,
      roleOf,
      shuffle,
      outputs,
      uses,
      pause,
      reviews,
    }): Proposal => {
      const roles = Array.from({ length: roleCount }, (_, i) => ({
        key: `r${i}`,
        title: `Role ${i}`,
        existingAgent: null,
        hire: { name: `N${i}`, persona: 'x', skills: [] },
        tools: [],
        model: null,
      }));
      const deps = Array.from({ length: ticketCount }, () => new Set<string>());
      for (const [a, b] of edges) {
        const from = a % ticketCount;
        const to = b % ticketCount;
        if (from < to) deps[to]!.add(`t${from}`);
      }
      const tickets = Array.from({ length: ticketCount }, (_, i) => {
        const used = uses[i]
          ? [...deps[i]!].flatMap((d) => (outputs[Number(d.slice(1))]?.fields ?? []).map((f) => `${d}.${f.name}`))
          : [];
        return {
          key: `t${i}`,
          title: `Ticket ${i}`,
          role: `r${roleOf[i]! % roleCount}`,
          description: 'd',
          dependsOn: [...deps[i]!],
          ...(outputs[i] ? { output: outputs[i] } : {}),
          ...(used.length ? { uses: used } : {}),
          ...(reviews[i] ? { review: true } : {}),
        };
      });
      // Present the tickets out of dependency order: the materializer must not care.
      const order = tickets
        .map((t, i) => ({ t, k: shuffle[i]! }))
        .sort((x, y) => x.k - y.k)
        .map((x) => x.t);
      return {
        goal: 'g',
        roles,
        tickets: order,
        research: { enabled: research, prompt: research ? 'r' : '', role: research ? 'r0' : null },
        discussion: {
          enabled: discussion,
          prompt: discussion ? 'd' : '',
          ...(pause === undefined ? {} : { pauseForPeople: pause }),
        },
        synthesis: { role: `r${roleCount - 1}`, prompt: 's' },
        budget: { maxUsd: 1 },
      };
    },
  );

describe('materialize', () => {
  it('builds the example pipeline: discussion → tickets in dependency order → synthesis → done', () => {
    const p = sampleProposal();
    const pipeline = materialize({ proposal: p, revision: 3, roles: rolesFor(p), ids: { orchestrationId: 'o1' } });
    expect(pipeline.orchestrationId).toBe('o1');
    expect(pipeline.revision).toBe(3);
    expect(pipeline.steps.map((s) => [s.key, s.dependsOn])).toEqual([
      ['discuss_analyst', []],
      ['discuss_writer', []],
      ['ticket_competitors', ['discuss_analyst', 'discuss_writer']],
      ['ticket_pricing', ['discuss_analyst', 'discuss_writer']],
      ['ticket_draft', ['ticket_competitors', 'ticket_pricing']],
      ['synthesis', ['ticket_competitors', 'ticket_pricing', 'ticket_draft']],
      ['done', ['synthesis']],
    ]);
    expect(pipeline.steps.find((s) => s.key === 'ticket_draft')?.agentId).toBe('a1');
    expect(criticalPathLength(pipeline)).toBe(4);
  });

  it('puts research first and makes root tickets wait on it when there is no discussion', () => {
    const p = sampleProposal({
      research: { enabled: true, prompt: 'look around', role: 'analyst' },
      discussion: { enabled: false, prompt: '' },
    });
    const steps = materialize({ proposal: p, revision: 1, roles: rolesFor(p), ids: { orchestrationId: 'o' } }).steps;
    expect(steps[0]).toMatchObject({ key: 'research', kind: 'research', dependsOn: [] });
    expect(steps.find((s) => s.key === 'ticket_pricing')?.dependsOn).toEqual(['research']);
  });

  it('starts root tickets at once when neither research nor discussion is on', () => {
    const p = sampleProposal({ discussion: { enabled: false, prompt: '' } });
    const steps = materialize({ proposal: p, revision: 1, roles: rolesFor(p), ids: { orchestrationId: 'o' } }).steps;
    expect(steps[0]).toMatchObject({ key: 'ticket_competitors', dependsOn: [] });
  });

  it('refuses a role without a resolved agent', () => {
    const p = sampleProposal();
    expect(() => materialize({ proposal: p, revision: 1, roles: {}, ids: { orchestrationId: 'o' } })).toThrow(
      MaterializeError,
    );
  });

  it('is deterministic: the same proposal gives the same pipeline (property)', () => {
    fc.assert(
      fc.property(proposalArb, (p) => {
        expect(validateProposal(p).violations).toEqual([]);
        const input = { proposal: p, revision: 2, roles: rolesFor(p), ids: { orchestrationId: 'o' } };
        const a = materialize(input);
        const b = materialize(structuredClone(input));
        expect(b).toEqual(a);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        // Each ticket step carries what its ticket declared, and only that.
        for (const t of p.tickets) {
          const step = a.steps.find((s) => s.ticketKey === t.key);
          expect(step?.output).toEqual(t.output);
          expect(step?.review).toBe(t.review ? true : undefined);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('always yields a well-formed DAG that runs every ticket before synthesis (property)', () => {
    fc.assert(
      fc.property(proposalArb, (p) => {
        const steps = materialize({
          proposal: p,
          revision: 1,
          roles: rolesFor(p),
          ids: { orchestrationId: 'o' },
        }).steps;
        const seen = new Set<string>();
        for (const step of steps) {
          for (const dep of step.dependsOn) expect(seen.has(dep)).toBe(true); // listed after its dependencies
          seen.add(step.key);
        }
        expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
        const tickets = steps.filter((s) => s.kind === 'ticket');
        expect(tickets).toHaveLength(p.tickets.length);
        expect(steps.at(-2)?.dependsOn.sort()).toEqual(tickets.map((t) => t.key).sort());
        expect(steps.at(-1)).toMatchObject({ key: 'done', dependsOn: ['synthesis'] });
        // With the pause for people on (the default), the work waits for it, and it for every position.
        const positions = p.roles.map((r) => `discuss_${r.key}`);
        const people = steps.find((s) => s.kind === 'people');
        expect(people !== undefined).toBe(p.discussion.enabled && p.discussion.pauseForPeople !== false);
        if (people) expect(people.dependsOn).toEqual(positions);
        const entry = p.discussion.enabled ? (people ? ['people'] : positions) : p.research.enabled ? ['research'] : [];
        for (const t of tickets) {
          const own = p.tickets.find((x) => `ticket_${x.key}` === t.key)!;
          expect(t.dependsOn).toEqual(
            own.dependsOn.length ? expect.arrayContaining(own.dependsOn.map((d) => `ticket_${d}`)) : entry,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
