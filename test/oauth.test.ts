/** What an install asks Slack for is what manifest.yml declares, so the two cannot drift apart. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOT_SCOPES, REDIRECT_PATH } from '../src/oauth.js';

const manifest = readFileSync(resolve(import.meta.dirname, '../manifest.yml'), 'utf8');

/** The list items under `key:` at its indentation (comments skipped). */
function listUnder(key: string): string[] {
  const lines = manifest.split('\n');
  const start = lines.findIndex((line) => line.trim() === `${key}:`);
  const items: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim().startsWith('#')) continue;
    const item = /^\s+- (.+)$/.exec(line);
    if (!item) break;
    items.push(item[1]!.trim());
  }
  return items;
}

describe('OAuth distribution and the manifest', () => {
  it('asks for exactly the bot scopes the manifest declares', () => {
    expect(BOT_SCOPES).toEqual(listUnder('bot'));
  });

  it('declares the redirect URL and the events that say the app left a workspace', () => {
    expect(listUnder('redirect_urls').every((url) => url.endsWith(REDIRECT_PATH))).toBe(true);
    expect(listUnder('bot_events')).toEqual(expect.arrayContaining(['app_uninstalled', 'tokens_revoked']));
  });
});
