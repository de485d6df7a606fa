/**
 * The layering rules of docs/ARCHITECTURE.md, checked on the source itself: what may import what,
 * files of one concept (at most 300 lines, each opening with the comment that says what it is for).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  /** A path relative to src/ for our own modules, else the package name. */
  target: string;
  typeOnly: boolean;
}

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    const spec = m[2]!;
    const target = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') : spec;
    return { target, typeOnly: Boolean(m[1]) };
  });
}

const files = sourceFiles(SRC).map((path) => ({ path, name: relative(SRC, path), imports: importsOf(path) }));
const under = (dir: string) => files.filter((f) => f.name.startsWith(`${dir}/`));

/** The pure core: the plan, and the money math that needs no I/O. Blocks may draw what it computes. */
const PURE = (name: string) =>
  name.startsWith('engine/plan/') ||
  ['engine/money/pricing.ts', 'engine/money/estimate.ts', 'engine/money/rollup.ts'].includes(name);
const OWN_ALLOWED_IN_PURE = (target: string) => PURE(target) || target === 'errors.ts';
const PACKAGES_ALLOWED_IN_PURE = new Set(['zod', '@pydantic/genai-prices']);

function violations(list: typeof files, allowed: (i: Import, file: string) => boolean): string[] {
  return list.flatMap((f) => f.imports.filter((i) => !allowed(i, f.name)).map((i) => `${f.name} imports ${i.target}`));
}

describe('architecture', () => {
  it('finds the source and reads its imports', () => {
    expect(files.length).toBeGreaterThan(40);
    const approve = files.find((f) => f.name === 'engine/usecases/approve.ts');
    expect(approve?.imports.map((i) => i.target)).toContain('engine/run/transition.ts');
  });

  it('keeps the plan layer and the money math pure: no I/O, nothing from the rest of the engine', () => {
    const pure = files.filter((f) => PURE(f.name));
    expect(pure.length).toBeGreaterThan(8);
    const bad = violations(pure, (i) =>
      i.target.startsWith('engine/') || i.target.endsWith('.ts')
        ? OWN_ALLOWED_IN_PURE(i.target) || (i.typeOnly && i.target === 'config.ts')
        : PACKAGES_ALLOWED_IN_PURE.has(i.target),
    );
    expect(bad).toEqual([]);
  });

  it('lets blocks/ and models/ import from the engine only its pure core', () => {
    const bad = violations(
      [...under('blocks'), ...under('models')],
      (i) => !i.target.startsWith('engine/') || PURE(i.target),
    );
    expect(bad).toEqual([]);
  });

  it('keeps blocks/ pure: Block Kit from plain data, no database, no Slack client', () => {
    const bad = violations(
      under('blocks'),
      (i) => !i.target.startsWith('models/') && !/^(mongoose|@slack\/web-api|@slack\/bolt)$/.test(i.target),
    );
    expect(bad).toEqual([]);
  });

  it('keeps listeners thin: they call use cases and import no models', () => {
    const bad = violations(
      under('handlers'),
      (i) =>
        !i.target.startsWith('models/') && (!i.target.startsWith('engine/') || i.target.startsWith('engine/usecases/')),
    );
    expect(bad).toEqual([]);
  });

  it('keeps each file to one concept: at most 300 lines, opening with the comment that says what it is for', () => {
    const long = files
      .map((f) => ({ name: f.name, lines: readFileSync(f.path, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 300);
    expect(long).toEqual([]);
    const unexplained = files.filter((f) => !readFileSync(f.path, 'utf8').startsWith('/**')).map((f) => f.name);
    expect(unexplained).toEqual([]);
  });
});
