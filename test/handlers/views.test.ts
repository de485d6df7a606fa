import { describe, expect, it } from 'vitest';
import { parseUsd } from '../../src/handlers/views.js';

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
