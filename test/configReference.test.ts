import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONFIG_END,
  CONFIG_START,
  configReferenceIn,
  renderConfigReference,
  undocumentedSettings,
  withConfigReference,
} from '../src/configReference.js';
import { EnvSchema } from '../src/configSchema.js';

const README = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
const STALE = "README.md's configuration reference is not what the settings' schemas say: run `npm run docs:config`";

/** The first cell of each table row: the settings it documents. */
const documentedKeys = (reference: string) =>
  reference
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split(' | ')[0]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));

describe('the configuration reference', () => {
  it('is in README.md exactly as the settings’ schemas render it', () => {
    expect(configReferenceIn(README), STALE).toBe(renderConfigReference());
    expect(withConfigReference(README, renderConfigReference()) === README, STALE).toBe(true);
  });

  it('documents every setting of the schema, each once', () => {
    const keys = Object.keys(EnvSchema.shape);
    expect(keys.length).toBeGreaterThan(40);
    expect(undocumentedSettings(), 'describe each setting next to its schema, then run `npm run docs:config`').toEqual(
      [],
    );
    expect(documentedKeys(renderConfigReference()).sort()).toEqual([...keys].sort());
    expect(documentedKeys(configReferenceIn(README)).sort(), STALE).toEqual([...keys].sort());
  });

  it('shows defaults from the schema: parsed, required, unset, empty, or as a setting says', () => {
    const rows = renderConfigReference().split('\n');
    const row = (key: string) => rows.find((line) => line.startsWith(`| \`${key}\``));
    expect(row('SLACK_BOT_TOKEN')).toMatch(/^\| `SLACK_BOT_TOKEN` \| required without OAuth \| /);
    expect(row('SLACK_CLIENT_ID')).toMatch(
      /^\| `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`, `SLACK_STATE_SECRET` \| unset \| /,
    );
    expect(row('PORT')).toMatch(/^\| `PORT` \| `3000` \| HTTP mode/);
    expect(row('MONGODB_URI')).toMatch(/^\| `MONGODB_URI` \| unset \| /);
    expect(row('ORCHESTRATE_APPROVERS')).toMatch(/^\| `ORCHESTRATE_APPROVERS` \| empty \| /);
    expect(row('ORCHESTRATE_PRICES')).toMatch(/^\| `ORCHESTRATE_PRICES` \| `\{\}` \| /);
    expect(row('LLM_MODEL')).toMatch(/^\| `LLM_MODEL` \| `gpt-4o-mini` \/ `claude-sonnet-4-5` \| /);
    expect(row('ORCHESTRATE_FETCH_MAX_BYTES')).toMatch(
      /^\| `ORCHESTRATE_FETCH_MAX_BYTES`, `ORCHESTRATE_FETCH_TIMEOUT_MS` \| `2097152`, `15000` \| /,
    );
    expect(row('OPENAI_API_KEY')).toMatch(/^\| `OPENAI_API_KEY`, `OPENAI_BASE_URL` \| \| Key, /);
  });

  it('refuses a setting without a description, saying to describe it and run npm run docs:config', () => {
    const shape = { PORT: EnvSchema.shape.PORT, ORCHESTRATE_NEW_THING: z.string().optional() };
    expect(undocumentedSettings(shape)).toEqual(['ORCHESTRATE_NEW_THING has no description']);
    expect(() => renderConfigReference(shape)).toThrow(
      /Undocumented settings: ORCHESTRATE_NEW_THING has no description\. Describe each .*npm run docs:config/,
    );
    const documented = { ...shape, ORCHESTRATE_NEW_THING: z.string().optional().describe('Does a new thing.') };
    expect(renderConfigReference(documented)).toContain('| `ORCHESTRATE_NEW_THING` | unset | Does a new thing. |');
  });

  it('refuses a shared row whose head is missing or has no text of its own', () => {
    const orphan = { A: z.string().optional().meta({ documentedWith: 'B' }) };
    expect(undocumentedSettings(orphan)).toEqual(['A is documented with B, which is not a setting']);
    const chained = {
      A: z.string().optional().meta({ documentedWith: 'B' }),
      B: z.string().optional().meta({ documentedWith: 'C' }),
      C: z.string().optional().describe('C.'),
    };
    expect(undocumentedSettings(chained)).toEqual(['A is documented with B, which has no description of its own']);
  });

  it('keeps one table cell per column: pipes in a description are escaped', () => {
    const shape = { A: z.string().optional().describe('`a|b` or\nc') };
    expect(renderConfigReference(shape)).toContain('| `A` | unset | `a\\|b` or c |');
  });

  it('rewrites only what lies between the markers, and needs both', () => {
    const readme = `# Title\n\nBefore.\n\n${CONFIG_START}\nold table\n${CONFIG_END}\n\nAfter.\n`;
    expect(withConfigReference(readme, '| new |')).toBe(
      `# Title\n\nBefore.\n\n${CONFIG_START}\n\n| new |\n\n${CONFIG_END}\n\nAfter.\n`,
    );
    expect(configReferenceIn(withConfigReference(readme, '| new |'))).toBe('| new |');
    expect(() => withConfigReference('# No markers\n', '| new |')).toThrow(/config:start/);
    expect(() => configReferenceIn(`${CONFIG_END}\n${CONFIG_START}`)).toThrow(/config:start/);
  });
});
