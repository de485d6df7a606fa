import { describe, expect, it } from 'vitest';
import { decodeControlValue, ViewIds } from '../../src/blocks/actionIds.js';
import { declaredResultMessages, fitsTableBlock } from '../../src/blocks/declaredResult.js';
import { OutputInputIds, outputBlockId, outputsModal, ticketOfBlock } from '../../src/blocks/outputModal.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { type DeclaredOutput, explainViolation } from '../../src/engine/plan/outputs.js';
import { parseFieldLines } from '../../src/engine/plan/outputText.js';
import { blocksError, viewError } from '../fakes/slackRules.js';
import { largestProposal } from '../fixtures.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const FIGURES = { costUsd: 0.01, durationMs: 1200, model: 'gpt-4o-mini' };
const declared: DeclaredOutput = {
  description: 'A competitor matrix',
  fields: [
    { name: 'matrix', type: 'table', columns: ['name', 'pricing'], maxItems: 99 },
    { name: 'notes', type: 'list' },
  ],
};
const rows = (n: number, cell = 'x') => Array.from({ length: n }, (_, i) => ({ name: `Rival ${i}`, pricing: cell }));

describe('a structured result in the thread', () => {
  it('draws a table that fits as a table block, in a message of its own, header first', () => {
    const messages = declaredResultMessages(
      'Map the competitors',
      'Ada',
      declared,
      { matrix: rows(99), notes: ['a'] },
      FIGURES,
    );
    expect(messages).toHaveLength(2);
    const [result, table] = messages;
    expect(JSON.stringify(result!.blocks)).toContain('_A competitor matrix_');
    expect(JSON.stringify(result!.blocks)).toContain('**notes** _(list)_\\n- a');
    expect(JSON.stringify(result!.blocks)).not.toContain('| name | pricing |');
    const block = table!.blocks.find((b: any) => b.type === 'table') as any;
    expect(block.rows).toHaveLength(100);
    expect(block.rows[0].map((c: any) => c.text)).toEqual(['name', 'pricing']);
    for (const m of messages) {
      expect(blocksError(m.blocks, new Set())).toBeNull();
      expect(blockKitViolations(m)).toEqual([]);
    }
  });

  it('keeps a table too large for a block as a Markdown table, every row posted', () => {
    const value = { matrix: rows(99, 'p'.repeat(120)), notes: [] };
    expect(fitsTableBlock(declared.fields[0]!, value.matrix)).toBe(false);
    const messages = declaredResultMessages('Map the competitors', 'Ada', declared, value, FIGURES);
    expect(messages.flatMap((m) => m.blocks).some((b: any) => b.type === 'table')).toBe(false);
    const posted = messages.map((m) => JSON.stringify(m.blocks)).join('');
    for (let i = 0; i < 99; i++) expect(posted).toContain(`| Rival ${i} |`);
    for (const m of messages) expect(blocksError(m.blocks, new Set())).toBeNull();
  });

  it('names the field, row and column of a violation', () => {
    expect(explainViolation(declared, 'matrix.2.pricing: is missing')).toBe(
      'field "matrix" (table), row 3, column "pricing": is missing',
    );
    expect(explainViolation(declared, 'notes.0: Too big')).toBe('field "notes" (list), item 1: Too big');
    expect(explainViolation(declared, ': Unrecognized key: "x"')).toBe(': Unrecognized key: "x"');
  });
});

describe('the Edit outputs modal', () => {
  it('has each ticket’s line and fields, read back by ticket key, within modal limits at the largest plan', () => {
    const p = largestProposal(2000);
    const meta = { orchestrationId: '65a1b2c3d4e5f60718293a4b' as OrchestrationId, revision: 7 };
    const view = outputsModal(meta, p);
    expect(view.callback_id).toBe(ViewIds.editOutputs);
    expect(viewError(view, 'modal')).toBeNull();
    expect(decodeControlValue(view.private_metadata)).toEqual(meta);
    const inputs = view.blocks.filter((b: any) => b.type === 'input') as any[];
    expect(inputs).toHaveLength(32);
    for (const input of inputs) {
      expect(input.label.text.length).toBeLessThanOrEqual(2000);
      expect((input.element.initial_value ?? '').length).toBeLessThanOrEqual(input.element.max_length);
    }
    const fields = inputs.find((b) => b.block_id === outputBlockId('fields', 'ticket-3'));
    expect(fields.element.action_id).toBe(OutputInputIds.fields.action);
    expect(ticketOfBlock('fields', fields.block_id)).toBe('ticket-3');
    // What the form shows reads back as the declaration it came from.
    expect(parseFieldLines(fields.element.initial_value)).toEqual({ ok: true, fields: p.tickets[3]!.output!.fields });
  });
});
