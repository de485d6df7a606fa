/**
 * Benchmark of the embedded database's lookups by _id (src/db.ts): how a findOne, a findOneAndUpdate
 * and an updateOne by _id grow with the collection, on CongoDB as it is (every document tested) and
 * with the worker's lookup by id. Reported as the time at 3,000 documents ÷ the time at 100, per
 * command, so that the machine's speed cancels out. `npx tsx bench/embeddedDb.ts` runs this section alone.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type Collection, MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo } from '../src/db.js';
import type { Report } from './slackPacing.js';
import { pct } from './stats.js';

const SIZES = [100, 3000] as const;
const ROUNDS = 400;

/** Microseconds per command, on the small and the large collection in turn (so that both share the machine's mood). */
async function timings(scan: boolean): Promise<Record<string, { small: number[]; large: number[] }>> {
  const server = await startEmbeddedMongo(0, { scan });
  const client = await MongoClient.connect(server.uri);
  const out: Record<string, { small: number[]; large: number[] }> = {};
  try {
    const targets: Record<string, { steps: Collection; id: ObjectId }> = {};
    for (const [name, size] of [
      ['small', SIZES[0]],
      ['large', SIZES[1]],
    ] as const) {
      const docs = Array.from({ length: size }, (_, n) => ({
        _id: new ObjectId(),
        runId: n % 50,
        status: 'pending',
        output: 'x'.repeat(500),
        n,
      }));
      const steps = client.db().collection(`steps_${name}`);
      await steps.insertMany(docs);
      targets[name] = { steps, id: docs.at(-1)!._id };
    }
    const commands: Record<string, (t: { steps: Collection; id: ObjectId }) => Promise<unknown>> = {
      findOne: ({ steps, id }) => steps.findOne({ _id: id }, { projection: { status: 1 } }),
      findOneAndUpdate: ({ steps, id }) =>
        steps.findOneAndUpdate({ _id: id, status: 'pending' }, { $inc: { attempts: 1 } }),
      updateOne: ({ steps, id }) => steps.updateOne({ _id: id }, { $inc: { attempts: 1 } }),
    };
    for (const [name, run] of Object.entries(commands)) {
      const times = { small: [] as number[], large: [] as number[] };
      for (let i = 0; i < ROUNDS + 50; i++) {
        for (const size of ['small', 'large'] as const) {
          const t = performance.now();
          await run(targets[size]!);
          if (i >= 50) times[size].push((performance.now() - t) * 1000);
        }
      }
      out[name] = times;
    }
  } finally {
    await client.close();
    await server.stop();
  }
  return out;
}

/** The section: per command, its p50 at 3,000 documents ÷ at 100, scanning and by id. */
export async function embeddedLookups(report: Report): Promise<void> {
  for (const scan of [true, false]) {
    const byCommand = await timings(scan);
    for (const [name, { small, large }] of Object.entries(byCommand)) {
      report(
        `embedded db ${name} by _id, ${scan ? 'every document tested (CongoDB alone)' : 'lookup by id'}: 3,000 docs ÷ 100`,
        '×',
        large.map((t, i) => t / small[i]!),
        `p50 ${pct(small, 50).toFixed(0)} µs at 100, ${pct(large, 50).toFixed(0)} µs at 3,000`,
      );
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await embeddedLookups((name, unit, values, note = '') =>
    console.log(
      `${name}: p50 ${pct(values, 50).toFixed(2)} ${unit}, p95 ${pct(values, 95).toFixed(2)} ${unit}; ${note}`,
    ),
  );
  process.exit(0);
}
