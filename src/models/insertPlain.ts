/**
 * Inserts new documents without building a mongoose document for each: each is cast and given its
 * defaults and timestamps as a plain object, and stamped like any insert (the tenant plugin's
 * insertMany hook runs), but not validated. For documents the engine builds itself from a
 * validated plan: the start's scaffolding, on the run's critical path, where hydrating and
 * validating some 40 documents cost about 9 ms (docs/BENCHMARKS.md, ninth pass).
 */
import type { Model } from 'mongoose';

export async function insertPlain<T>(model: Model<T>, docs: object[]): Promise<object[]> {
  const now = new Date();
  const timestamps = model.schema.get('timestamps');
  const stamped = (doc: object) => ({
    ...(timestamps ? { createdAt: now } : {}),
    ...(timestamps === true || (timestamps && timestamps.updatedAt !== false) ? { updatedAt: now } : {}),
    ...model.applyDefaults(model.castObject(doc) as object),
    __v: 0,
  });
  return (await model.insertMany(docs.map(stamped), { lean: true })) as object[];
}
