import { describe, expect, it } from 'vitest';
import { InputIds } from '../../src/blocks/actionIds.js';
import { kitOf, parseUsd } from '../../src/handlers/views.js';

describe('parseUsd', () => {
  it('reads the ways people write an amount', () => {
    expect(parseUsd('1.5')).toBe(1.5);
    expect(parseUsd(' $1.50 ')).toBe(1.5);
    expect(parseUsd('1,50')).toBe(1.5);
    expect(parseUsd('2500')).toBe(2500);
    expect(parseUsd('3 USD')).toBe(3);
  });

  it('refuses what it would have to guess, rather than set a cap a thousand times off', () => {
    for (const bad of ['2,500', '1.234,56', '1,000.00', 'abc', '', '-3', '1e3', '0x10'])
      expect(parseUsd(bad)).toBeNaN();
  });
});

describe('kitOf', () => {
  const tools = (values: string[]) => ({
    [InputIds.roleTools.block]: {
      [InputIds.roleTools.action]: {
        type: 'multi_static_select',
        selected_options: values.map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
      },
    },
  });
  const model = (value: string) => ({
    [InputIds.roleModel.block]: {
      [InputIds.roleModel.action]: {
        type: 'static_select',
        selected_option: { text: { type: 'plain_text', text: value }, value },
      },
    },
  });

  it('reads the chosen tools and model, and no tools chosen as none', () => {
    expect(kitOf({ ...tools(['web_search', 'web_fetch']), ...model('gpt-4o') } as any)).toEqual({
      tools: ['web_search', 'web_fetch'],
      model: 'gpt-4o',
    });
    expect(kitOf({ ...tools([]), ...model('gpt-4o-mini') } as any)).toEqual({ tools: [], model: 'gpt-4o-mini' });
  });

  it('tells a form without the fields (a modal drawn before them) from one that chose nothing', () => {
    expect(kitOf({} as any)).toEqual({ tools: null, model: null });
  });
});
