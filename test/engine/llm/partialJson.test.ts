/** Reading a string field of tool arguments while they are still arriving. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partialStringField } from '../../../src/engine/llm/partialJson.js';

describe('partialStringField', () => {
  it('is null until the field starts, then grows with what arrived', () => {
    expect(partialStringField('{"gaps": [], "deli', 'deliverable')).toBeNull();
    expect(partialStringField('{"deliverable": "# Ti', 'deliverable')).toBe('# Ti');
    expect(partialStringField('{"deliverable": "# Title\\nLine \\"quoted\\" \\u00e9', 'deliverable')).toBe(
      '# Title\nLine "quoted" é',
    );
  });

  it('waits for an escape cut in half', () => {
    expect(partialStringField('{"deliverable": "a\\', 'deliverable')).toBe('a');
    expect(partialStringField('{"deliverable": "a\\u00', 'deliverable')).toBe('a');
  });

  it('on every prefix of a real answer, gives a prefix of the final text, and the whole text at the end (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), (deliverable, gaps) => {
        const raw = JSON.stringify({ deliverable, gaps });
        for (let cut = 0; cut <= raw.length; cut++) {
          const seen = partialStringField(raw.slice(0, cut), 'deliverable');
          if (seen !== null) expect(deliverable.startsWith(seen)).toBe(true);
        }
        expect(partialStringField(raw, 'deliverable')).toBe(deliverable);
      }),
      { numRuns: 200 },
    );
  });
});
