import { describe, expect, it } from 'vitest';
import { findCycle, topologicalOrder } from '../../src/engine/plan/dag.js';
import { validateProposal } from '../../src/engine/plan/validate.js';
import { largestProposal, sampleProposal } from '../fixtures.js';

describe('validateProposal', () => {
  it('accepts a well-formed proposal', () => {
    const result = validateProposal(sampleProposal());
    expect(result.ok).toBe(true);
    expect(result.violations).toEqual([]);
  });

  it('accepts the largest allowed proposal', () => {
    expect(validateProposal(largestProposal(200)).violations).toEqual([]);
  });

  it('names shape errors by path', () => {
    const result = validateProposal({ ...sampleProposal(), budget: { maxUsd: -1 } });
    expect(result.ok).toBe(false);
    expect(result.violations.join('\n')).toMatch(/budget\.maxUsd/);
  });

  it('requires exactly one of existingAgent and hire', () => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, existingAgent: 'Bob' };
    p.roles[1] = { ...p.roles[1]!, hire: null };
    const result = validateProposal(p);
    expect(result.violations).toContain('roles[0] ("analyst"): set exactly one of existingAgent or hire');
    expect(result.violations).toContain('roles[1] ("writer"): set exactly one of existingAgent or hire');
  });

  it('checks existing agents against the roster', () => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, existingAgent: 'Grace', hire: null };
    expect(validateProposal(p, { rosterNames: ['grace'] }).ok).toBe(true);
    expect(validateProposal(p, { rosterNames: ['Linus'] }).violations[0]).toMatch(/"Grace" is not in the roster/);
  });

  it('names a loosely matched agent as the roster spells it, so that it is found again after approval', () => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, existingAgent: ' grace ', hire: null };
    const checked = validateProposal(p, { rosterNames: ['Grace', 'Linus'] });
    expect(checked.ok && checked.proposal.roles[0]!.existingAgent).toBe('Grace');
  });

  it('rejects duplicate keys, unknown references and self-dependencies', () => {
    const p = sampleProposal();
    p.roles.push({ ...p.roles[0]! });
    p.tickets.push({ key: 'pricing', title: 'Again', role: 'ghost', description: 'x', dependsOn: ['nope', 'pricing'] });
    p.synthesis.role = 'editor';
    const v = validateProposal(p).violations;
    expect(v).toContain('roles[2].key: "analyst" is used by more than one role');
    expect(v).toContain('tickets[3].key: "pricing" is used by more than one ticket');
    expect(v).toContain('tickets[3] ("pricing"): role "ghost" is not one of the roles');
    expect(v).toContain('tickets[3] ("pricing"): depends on unknown ticket "nope"');
    expect(v).toContain('tickets[3] ("pricing"): depends on itself');
    expect(v).toContain('synthesis.role: "editor" is not one of the roles');
  });

  it('rejects cycles and names them', () => {
    const p = sampleProposal();
    p.tickets[0]!.dependsOn = ['draft'];
    const v = validateProposal(p).violations;
    expect(
      v.some((x) =>
        /dependency cycle competitors → draft → competitors|dependency cycle draft → competitors → draft/.test(x),
      ),
    ).toBe(true);
  });

  it('caps roles at 8 and tickets at 16', () => {
    const p = largestProposal(50);
    p.roles.push({ ...p.roles[0]!, key: 'role-extra' });
    p.tickets.push({ ...p.tickets[0]!, key: 'ticket-extra' });
    const v = validateProposal(p).violations;
    expect(v).toContain('roles: at most 8 roles, got 9');
    expect(v).toContain('tickets: at most 16 tickets, got 17');
  });

  it('requires a role and prompt when research is on', () => {
    const p = sampleProposal({ research: { enabled: true, prompt: ' ', role: null } });
    const v = validateProposal(p).violations;
    expect(v).toContain('research.role: research is enabled but has no role');
    expect(v).toContain('research.prompt: research is enabled but has no prompt');
  });
});

describe('graph helpers', () => {
  it('finds no cycle in a DAG and orders dependencies first, stably', () => {
    const tickets = [
      { key: 'c', dependsOn: ['a', 'b'] },
      { key: 'a', dependsOn: [] },
      { key: 'b', dependsOn: ['a'] },
      { key: 'd', dependsOn: [] },
    ];
    expect(findCycle(tickets)).toBeNull();
    expect(topologicalOrder(tickets).map((t) => t.key)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe("each role's tools and model", () => {
  const tools = [
    { name: 'web_search', summary: 'Search the web.' },
    { name: 'web_fetch', summary: 'Read a page.' },
  ];
  const models = ['gpt-4o-mini', 'gpt-4o'];
  const withKit = (kit: { tools?: string[]; model?: string | null }) => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, ...kit };
    return p;
  };

  it('accepts tools that exist and a model people may pick', () => {
    const checked = validateProposal(withKit({ tools: ['web_search', 'web_fetch'], model: 'gpt-4o' }), {
      tools,
      models,
    });
    expect(checked.violations).toEqual([]);
    expect(checked.ok && checked.proposal.roles[0]).toMatchObject({
      tools: ['web_search', 'web_fetch'],
      model: 'gpt-4o',
    });
  });

  it('sends back a plan naming a tool that does not exist, a tool twice, or a model no one may pick', () => {
    const v = validateProposal(withKit({ tools: ['web_search', 'web_serch', 'web_search'], model: 'gpt-5-ultra' }), {
      tools,
      models,
    }).violations;
    expect(v).toEqual([
      'roles[0] ("analyst"): tool "web_serch" is not one of the available tools',
      'roles[0] ("analyst"): lists tool "web_search" twice',
      'roles[0] ("analyst"): model "gpt-5-ultra" cannot be chosen; use null (the default) or one of gpt-4o-mini, gpt-4o',
    ]);
  });

  it('says that no tools exist when none do', () => {
    const v = validateProposal(withKit({ tools: ['web_search'] }), { tools: [], models }).violations;
    expect(v).toEqual([
      'roles[0] ("analyst"): tool "web_search" is not available; no tools are, so give every role tools: []',
    ]);
  });

  it('loads a plan stored before roles had tools and a model: no tools, the default model', () => {
    const p = sampleProposal();
    const old = { ...p, roles: p.roles.map(({ tools: _t, model: _m, ...role }) => role) };
    const checked = validateProposal(old, { tools, models });
    expect(checked.ok).toBe(true);
    expect(checked.ok && checked.proposal.roles.map((r) => [r.tools, r.model])).toEqual([
      [[], null],
      [[], null],
    ]);
  });
});
