import { describe, expect, it } from 'vitest';
import { decodeControlValue, InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { askAgainModal, budgetModal, NEW_HIRE_OPTION_VALUE, swapRoleModal } from '../../src/blocks/modals.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { largestProposal, sampleProposal } from '../fixtures.js';

const META = { orchestrationId: '65a1b2c3d4e5f60718293a4b' as OrchestrationId, revision: 3, target: 'analyst' };

describe('modals', () => {
  it('swap role: offers the roster as a select and the hire as editable fields, within modal limits', () => {
    const roster = Array.from({ length: 140 }, (_, i) => ({
      name: `Agent ${i}`,
      title: 'A very long title '.repeat(10),
    }));
    const view = swapRoleModal(META, sampleProposal().roles[0]!, roster);
    expect(view.callback_id).toBe(ViewIds.swapRole);
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(decodeControlValue(view.private_metadata)).toEqual(META);
    const select = view.blocks.find((b: any) => b.block_id === InputIds.rosterAgent.block) as any;
    expect(select.element.options).toHaveLength(100);
    expect(select.element.options.every((o: any) => o.text.text.length <= 75)).toBe(true);
    // A hired role starts on "a new hire", which stays choosable whatever else is picked.
    expect(select.element.options[0].value).toBe(NEW_HIRE_OPTION_VALUE);
    expect(select.element.initial_option.value).toBe(NEW_HIRE_OPTION_VALUE);
    const name = view.blocks.find((b: any) => b.block_id === InputIds.hireName.block) as any;
    expect(name.element.initial_value).toBe('Ada');
  });

  it('swap role: preselects the current roster agent, and explains an empty roster', () => {
    const role = { ...largestProposal(100).roles[0]!, existingAgent: 'agent 3', hire: null };
    const view = swapRoleModal(META, role, [{ name: 'Agent 3', title: 't' }]);
    const select = view.blocks.find((b: any) => b.block_id === InputIds.rosterAgent.block) as any;
    expect(select.element.initial_option.value).toBe('Agent 3');
    // Slack cannot empty a select, so the way back to a hire is an option of its own.
    expect(select.element.options.map((o: any) => o.value)).toEqual([NEW_HIRE_OPTION_VALUE, 'Agent 3']);
    expect(JSON.stringify(swapRoleModal(META, role, []).blocks)).toContain('The roster is empty');
  });

  it('budget and ask-again modals carry the revision and stay inside limits', () => {
    for (const view of [budgetModal(META, 1.5, 50, 0.01), askAgainModal(META)]) {
      expect(view.title.text.length).toBeLessThanOrEqual(24);
      expect(decodeControlValue(view.private_metadata)).toEqual(META);
    }
    const budget = budgetModal(META, 1.5, 50, 0.01).blocks.find(
      (b: any) => b.block_id === InputIds.budget.block,
    ) as any;
    expect(budget.element.initial_value).toBe('1.50');
  });
});
