/**
 * `npm run docs:config`: rewrites the configuration reference in README.md, between its
 * `<!-- config:start -->` and `<!-- config:end -->` markers, from the settings' schemas
 * (src/configReference.ts renders it). Nothing outside the markers changes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderConfigReference, withConfigReference } from '../src/configReference.js';

const README = resolve(import.meta.dirname, '../README.md');

const before = readFileSync(README, 'utf8');
const after = withConfigReference(before, renderConfigReference());
if (after === before) {
  console.log('README.md: the configuration reference is up to date.');
} else {
  writeFileSync(README, after);
  console.log('README.md: the configuration reference was rewritten from the settings’ schemas.');
}
