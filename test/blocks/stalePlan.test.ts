import { describe, expect, it } from 'vitest';
import { stalePlanMessage } from '../../src/blocks/stalePlan.js';
import { largestProposal, sampleProposal } from '../fixtures.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

describe('stalePlanMessage', () => {
  it('says which revision was clicked and shows the current plan with its last change', () => {
    const p = sampleProposal();
    p.tickets = p.tickets
      .filter((t) => t.key !== 'pricing')
      .map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => d !== 'pricing') }));
    const m = stalePlanMessage(1, {
      revision: 2,
      proposal: p,
      maxUsd: 0.75,
      lastChange: { change: 'dropped ticket pricing', by: 'U9' },
    });
    expect(m.text).toContain('you clicked revision 1, and the current one is revision 2');
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('Last change: dropped ticket pricing by <@U9>');
    expect(text).toContain('1. Map the competitors (Market analyst)');
    expect(text).toContain('2. Draft the positioning (Positioning writer) · waits for Map the competitors');
    expect(text).not.toContain('Compare pricing');
    expect(text).toContain('new hire Ada');
    expect(text).toContain('budget $0.75 max');
  });

  it('stays within Block Kit limits for the largest plan, escaping what it shows', () => {
    const m = stalePlanMessage(3, {
      revision: 4,
      proposal: largestProposal(2000),
      maxUsd: 25,
      lastChange: { change: '<!channel> '.repeat(100), by: null },
    });
    expect(blockKitViolations(m)).toEqual([]);
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
    expect(JSON.stringify(m.blocks)).not.toContain('<@U123>');
  });
});
