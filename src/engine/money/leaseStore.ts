/**
 * Where budget leases (lease.ts) are stored: under `budget.leases.<key>` of the orchestration, each
 * with its size and when it was last written. Every write applies only while the key is stored, so a
 * lease is booked once, by its process or, should that process have died, by whoever finds it left.
 */
import { Orchestration } from '../../models/orchestration.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { OrchestrationStatus } from '../plan/status.js';
import { fitsUnderCap } from './budget.js';

/** Where a lease is stored on the orchestration. */
const leasePath = (key: string) => `budget.leases.${key}`;

/**
 * Grows a lease by `usd` if spent + reserved + usd stays within the cap: one conditional
 * update, as for a hold. `creating`: the key is new; else it applies only while the key is stored.
 */
export async function growLease(
  orchestrationId: OrchestrationId,
  key: string,
  usd: number,
  { creating, statuses }: { creating: boolean; statuses: readonly OrchestrationStatus[] },
): Promise<boolean> {
  const grown = await Orchestration.updateOne(
    {
      _id: orchestrationId,
      status: { $in: [...statuses] },
      [leasePath(key)]: { $exists: !creating },
      ...fitsUnderCap(usd),
    },
    {
      $inc: { 'budget.reservedUsd': usd, [`${leasePath(key)}.usd`]: usd },
      $set: { [`${leasePath(key)}.at`]: new Date() },
    },
  );
  return grown.modifiedCount === 1;
}

/**
 * Books what a lease's calls cost (`unbooked`) as spent, `released` (that, and any room given back)
 * leaving what is reserved; with `close`, the lease goes, and `released` is all it held. Only while
 * it is stored.
 */
export async function bookLease(
  orchestrationId: OrchestrationId,
  key: string,
  { unbooked, released, close }: { unbooked: number; released: number; close: boolean },
): Promise<boolean> {
  const res = await Orchestration.updateOne(
    { _id: orchestrationId, [leasePath(key)]: { $exists: true } },
    close
      ? { $inc: { 'budget.spentUsd': unbooked, 'budget.reservedUsd': -released }, $unset: { [leasePath(key)]: '' } }
      : {
          $inc: { 'budget.spentUsd': unbooked, 'budget.reservedUsd': -released, [`${leasePath(key)}.usd`]: -released },
          $set: { [`${leasePath(key)}.at`]: new Date() },
        },
  );
  return res.modifiedCount === 1;
}

/**
 * Books as spent, whole, every stored lease of the orchestration last written more than
 * `olderThanMs` ago and not in `keep` (this process's own): a lease whose process died holds what
 * its calls cost, their worst case for those it had in flight, and its unused room. Exactly once:
 * only while the lease is stored as it was read. Returns what was booked.
 */
export async function bookLeftLeases(
  orchestrationId: OrchestrationId,
  olderThanMs: number,
  keep: ReadonlySet<string> = new Set(),
): Promise<number> {
  const doc = await Orchestration.findById(orchestrationId, { 'budget.leases': 1 }).lean();
  const now = Date.now();
  let booked = 0;
  for (const [key, lease] of Object.entries(doc?.budget.leases ?? {})) {
    if (keep.has(key) || now - new Date(lease.at).getTime() < olderThanMs) continue;
    const res = await Orchestration.updateOne(
      { _id: orchestrationId, [`${leasePath(key)}.at`]: lease.at, [`${leasePath(key)}.usd`]: lease.usd },
      {
        // Counted apart, so that the rollup does not show it as planning (see rollup.ts).
        $inc: { 'budget.spentUsd': lease.usd, 'budget.reservedUsd': -lease.usd, 'budget.leftBehindUsd': lease.usd },
        $unset: { [leasePath(key)]: '' },
      },
    );
    if (res.modifiedCount === 1) booked += lease.usd;
  }
  return booked;
}

/**
 * The run is over: no call of it is in flight anywhere, so a lease of another process that is still
 * stored once such a process would have booked it (at its next quiet moment, within `waitMs`) was
 * left by one that died. Books those (see bookLeftLeases), so that the run's spend is whole and
 * nothing stays reserved. `stored`: the leases as the run's last write returned them.
 */
export async function bookLeasesAfterRun(
  orchestrationId: OrchestrationId,
  keep: ReadonlySet<string>,
  stored: Record<string, unknown> | undefined,
  waitMs = 1000,
): Promise<number> {
  const others = (leases: Record<string, unknown> | undefined) => Object.keys(leases ?? {}).some((k) => !keep.has(k));
  if (!others(stored)) return 0;
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    const doc = await Orchestration.findById(orchestrationId, { 'budget.leases': 1 }).lean();
    if (!others(doc?.budget.leases)) return 0;
  }
  return bookLeftLeases(orchestrationId, 0, keep);
}
