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
