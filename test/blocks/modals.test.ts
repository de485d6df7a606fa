import { describe, expect, it } from 'vitest';
import { decodeControlValue, InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { askAgainModal, budgetModal, NEW_HIRE_OPTION_VALUE, swapRoleModal } from '../../src/blocks/modals.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { largestProposal, sampleProposal } from '../fixtures.js';

const NO_CHOICES = { tools: [], models: ['gpt-4o-mini'] };
const CHOICES = {
  tools: [
    { name: 'web_search', summary: 'Search the web and get a list of results with their URLs.' },
    { name: 'web_fetch', summary: 'Read one web page as Markdown.' },
    { name: 'files__read', summary: '' },
  ],
  models: ['gpt-4o-mini', 'gpt-4o'],
};
const META = { orchestrationId: '65a1b2c3d4e5f60718293a4b' as OrchestrationId, revision: 3, target: 'analyst' };

describe('modals', () => {
  it('swap role: offers the roster as a select and the hire as editable fields, within modal limits', () => {
    const roster = Array.from({ length: 140 }, (_, i) => ({
      name: `Agent ${i}`,
      title: 'A very long title '.repeat(10),
    }));
    const view = swapRoleModal(META, sampleProposal().roles[0]!, roster, NO_CHOICES);
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
    const view = swapRoleModal(META, role, [{ name: 'Agent 3', title: 't' }], NO_CHOICES);
    const select = view.blocks.find((b: any) => b.block_id === InputIds.rosterAgent.block) as any;
    expect(select.element.initial_option.value).toBe('Agent 3');
    // Slack cannot empty a select, so the way back to a hire is an option of its own.
    expect(select.element.options.map((o: any) => o.value)).toEqual([NEW_HIRE_OPTION_VALUE, 'Agent 3']);
    expect(JSON.stringify(swapRoleModal(META, role, [], NO_CHOICES).blocks)).toContain('The roster is empty');
  });

  it("swap role: offers the tools that exist and the models people may pick, the role's own chosen", () => {
    const role = { ...sampleProposal().roles[0]!, tools: ['web_fetch'], model: 'gpt-4o' };
    const view = swapRoleModal(META, role, [], CHOICES);
    const tools = view.blocks.find((b: any) => b.block_id === InputIds.roleTools.block) as any;
    expect(tools.optional).toBe(true);
    expect(tools.element.type).toBe('multi_static_select');
    // The role's own tools come first, so that they are among the options drawn as chosen.
    expect(tools.element.options.map((o: any) => o.value)).toEqual(['web_fetch', 'web_search', 'files__read']);
    expect(tools.element.initial_options.map((o: any) => o.value)).toEqual(['web_fetch']);
    expect(tools.element.options[1].description.text).toBe('Search the web and get a list of results with their URLs.');
    const model = view.blocks.find((b: any) => b.block_id === InputIds.roleModel.block) as any;
    expect(model.element.options.map((o: any) => [o.text.text, o.value])).toEqual([
      ['gpt-4o-mini (default)', 'gpt-4o-mini'],
      ['gpt-4o', 'gpt-4o'],
    ]);
    expect(model.element.initial_option.value).toBe('gpt-4o');
    // A role on the default model starts on it.
    const onDefault = swapRoleModal(META, sampleProposal().roles[0]!, [], CHOICES);
    const select = onDefault.blocks.find((b: any) => b.block_id === InputIds.roleModel.block) as any;
    expect(select.element.initial_option.value).toBe('gpt-4o-mini');
    expect(
      (onDefault.blocks.find((b: any) => b.block_id === InputIds.roleTools.block) as any).element.initial_options,
    ).toBeUndefined();
  });

  it('swap role: names what the role has that is no longer offered, rather than dropping it unseen', () => {
    const role = { ...sampleProposal().roles[0]!, tools: ['web_search', 'old_tool'], model: 'gpt-3.5-turbo' };
    const view = swapRoleModal(META, role, [], CHOICES);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Not available any more, and dropped when you save: old_tool');
    expect(text).toContain('gpt-3.5-turbo is not offered any more: saving puts this role on the default model.');
    const tools = view.blocks.find((b: any) => b.block_id === InputIds.roleTools.block) as any;
    expect(tools.element.initial_options.map((o: any) => o.value)).toEqual(['web_search']);
    const model = view.blocks.find((b: any) => b.block_id === InputIds.roleModel.block) as any;
    expect(model.element.initial_option.value).toBe('gpt-4o-mini');
  });

  it('swap role: says so when no tools exist and only one model does, with no field to fill', () => {
    const view = swapRoleModal(META, sampleProposal().roles[0]!, [], NO_CHOICES);
    const ids = view.blocks.map((b: any) => b.block_id);
    expect(ids).not.toContain(InputIds.roleTools.block);
    expect(ids).not.toContain(InputIds.roleModel.block);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('No tools are configured');
    expect(text).toContain('Model: gpt-4o-mini, the only one configured');
  });

  it('swap role: stays inside select limits with hundreds of tools and long names', () => {
    const tools = Array.from({ length: 300 }, (_, i) => ({
      name: `mcp_tool_${i}_${'x'.repeat(100)}`,
      summary: 'y'.repeat(500),
    }));
    const role = { ...sampleProposal().roles[0]!, tools: [tools[250]!.name] };
    const view = swapRoleModal(META, role, [], { tools, models: Array.from({ length: 150 }, (_, i) => `m${i}`) });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const select = view.blocks.find((b: any) => b.block_id === InputIds.roleTools.block) as any;
    expect(select.element.options).toHaveLength(100);
    expect(select.element.initial_options.map((o: any) => o.value)).toEqual([tools[250]!.name]);
    for (const o of select.element.options) {
      expect(o.text.text.length).toBeLessThanOrEqual(75);
      expect(o.description.text.length).toBeLessThanOrEqual(75);
      expect(o.value.length).toBeLessThanOrEqual(150);
    }
    const model = view.blocks.find((b: any) => b.block_id === InputIds.roleModel.block) as any;
    expect(model.element.options).toHaveLength(100);
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
