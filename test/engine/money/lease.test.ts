/**
 * Budget leases against the embedded database: a step's calls take their room from the process'
 * lease in memory, so a hand-off writes nothing for money, while the cap is still decided by the
 * server and spend never passes it; a lease a dead process left is booked once, whole.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BudgetLeases, type LeaseTicket } from '../../../src/engine/money/lease.js';
import { bookLeasesAfterRun, bookLeftLeases } from '../../../src/engine/money/leaseStore.js';
import { ACTIVE_STATUSES } from '../../../src/engine/plan/status.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { eventually } from '../../helpers/harness.js';
import { load, seed, useDatabase } from '../usecases/support.js';

useDatabase();

const OPEN = [...ACTIVE_STATUSES];

/** Leases whose quiet moments come when the test says, and whose warnings are kept. */
function leases() {
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  const warnings: string[] = [];
  const leases = new BudgetLeases({ quiet: () => gate, warn: (line) => warnings.push(line) });
  return {
    leases,
    warnings,
    /** A quiet moment: what settled so far is booked. */
    quiet: async () => {
      await new Promise((r) => setImmediate(r)); // a settle looks for quiet after its turn
      open();
      gate = new Promise<void>((r) => (open = r));
      await new Promise((r) => setTimeout(r, 50));
    },
  };
}

async function takeAll(l: BudgetLeases, id: Parameters<BudgetLeases['take']>[0], usd: number, n: number) {
  const outcomes = await Promise.all(Array.from({ length: n }, () => l.take(id, usd, OPEN)));
  return outcomes.flatMap((o) => (o.ok ? [o.ticket] : []));
}

const budgetOf = async (id: Parameters<typeof load>[0]) => (await load(id)).budget;

afterEach(() => vi.restoreAllMocks());

describe('budget leases', () => {
  it('a wave takes its room in one write, and the next wave, with room left, in none', async () => {
    const id = await seed({ status: 'executing', maxUsd: 20 });
    const { leases: l, quiet } = leases();
    const writes = vi.spyOn(Orchestration, 'updateOne');
    const wave = await takeAll(l, id, 1, 8);
    expect(wave).toHaveLength(8);
    expect(writes).toHaveBeenCalledTimes(1);
    expect((await budgetOf(id)).reservedUsd).toBeCloseTo(8, 9);

    writes.mockClear();
    for (const ticket of wave) l.settle(ticket, 0.25);
    const next = await takeAll(l, id, 1, 4);
    expect(next).toHaveLength(4);
    expect(writes).not.toHaveBeenCalled();
    // Until a quiet moment, what the wave cost is counted as reserved: never as free room.
    expect(await budgetOf(id)).toMatchObject({ spentUsd: 0, reservedUsd: 8 });

    await quiet();
    expect(writes).toHaveBeenCalledTimes(1);
    const b = await budgetOf(id);
    expect(b.spentUsd).toBeCloseTo(2, 9);
    expect(b.reservedUsd).toBeCloseTo(6, 9);
    expect(Object.values(b.leases ?? {}).map((x) => x.usd)).toEqual([6]);
  });

  it('racing for the last dollars: exactly what fits is granted, and spent + reserved never passes the cap', async () => {
    const id = await seed({ status: 'executing', maxUsd: 5.5 });
    const { leases: l } = leases();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => l.take(id, 1, OPEN)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    expect(outcomes.filter((o) => !o.ok).every((o) => !o.ok && o.reason === 'budget' && o.waitable)).toBe(true);
    const b = await budgetOf(id);
    expect(b.spentUsd + b.reservedUsd).toBeLessThanOrEqual(5.5);
  });

  it('a call asking for room just as the lease has grown for the calls before it is served too', async () => {
    const id = await seed({ status: 'executing', maxUsd: 100 });
    const { leases: l } = leases();
    // Each next call comes a few turns of promises after the one before it was granted its room.
    for (let turns = 0; turns < 8; turns++) {
      const next = l.take(id, 1, OPEN).then(async () => {
        for (let i = 0; i < turns; i++) await null;
        return l.take(id, 1, OPEN);
      });
      const outcome = await Promise.race([next, new Promise((r) => setTimeout(() => r('stuck'), 5000))]);
      expect(outcome, `${turns} turns later`).toMatchObject({ ok: true });
    }
  });

  it('a call that could never fit is told so; a closed orchestration grants nothing', async () => {
    const tight = await seed({ status: 'executing', maxUsd: 1.5, spentUsd: 1 });
    const { leases: l } = leases();
    expect(await l.take(tight, 1, OPEN)).toEqual({ ok: false, reason: 'budget', waitable: false });
    const closed = await seed({ status: 'cancelled', maxUsd: 10 });
    expect(await l.take(closed, 1, OPEN)).toEqual({ ok: false, reason: 'closed' });
    expect((await budgetOf(closed)).reservedUsd).toBe(0);
  });

  it('books each call at most its worst case, and at the run’s end closes the lease, giving its room back', async () => {
    const id = await seed({ status: 'executing', maxUsd: 10 });
    const { leases: l } = leases();
    const [a, b] = (await takeAll(l, id, 1, 2)) as [LeaseTicket, LeaseTicket];
    l.settle(a, 0.25);
    l.settle(b, 5); // a misreported usage: booked at the worst case
    l.settle(b, 1); // settled once only
    await l.bookNow(id);
    const after = await budgetOf(id);
    expect(after.spentUsd).toBeCloseTo(1.25, 9);
    expect(after.reservedUsd).toBeCloseTo(0, 9);
    expect(after.leases ?? {}).toEqual({});
  });

  it('an idle lease is closed after a moment, so that nothing stays reserved between runs', async () => {
    const id = await seed({ status: 'executing', maxUsd: 10 });
    const { leases: l, quiet } = leases();
    const [ticket] = await takeAll(l, id, 2, 1);
    l.settle(ticket!, 0.5);
    await quiet();
    expect(await budgetOf(id)).toMatchObject({ spentUsd: 0.5, reservedUsd: 1.5 });
    await eventually(async () => (await budgetOf(id)).reservedUsd < 1e-9, 5000, 'the idle lease closed');
    expect((await budgetOf(id)).spentUsd).toBeCloseTo(0.5, 9);
  });

  it('a lease left by a dead process is booked once, whole, and its process, alive after all, books nothing more', async () => {
    const id = await seed({ status: 'executing', maxUsd: 10 });
    const dead = leases();
    const [a, b] = (await takeAll(dead.leases, id, 1, 2)) as [LeaseTicket, LeaseTicket];
    dead.leases.settle(a, 0.5); // settled in memory, never booked: the process "died"
    // Its own process never books its lease as left behind; anyone else does, once.
    expect(await bookLeftLeases(id, 0, dead.leases.keys(id))).toBe(0);
    expect(await bookLeftLeases(id, 0)).toBeCloseTo(2, 9);
    expect(await bookLeftLeases(id, 0)).toBe(0);
    // Counted apart, so that the rollup shows it as cut off, not as planning.
    expect(await budgetOf(id)).toMatchObject({ spentUsd: 2, reservedUsd: 0, leftBehindUsd: 2 });

    dead.leases.settle(b, 0.5);
    await dead.leases.bookNow(id);
    expect(await budgetOf(id)).toMatchObject({ spentUsd: 2, reservedUsd: 0 });
    expect(dead.warnings.join('\n')).toMatch(/booked as left behind while in use/);
    // It starts afresh: a new lease, under the same cap.
    const [c] = await takeAll(dead.leases, id, 1, 1);
    expect(c).toBeDefined();
    expect((await budgetOf(id)).reservedUsd).toBeCloseTo(1, 9);
  });

  it('at a run’s end, another process’ lease still stored after its quiet moment is booked; a live one closes itself', async () => {
    const id = await seed({ status: 'executing', maxUsd: 10 });
    const live = leases();
    const dead = leases();
    const [mine] = await takeAll(live.leases, id, 1, 1);
    await takeAll(dead.leases, id, 2, 1);
    live.leases.settle(mine!, 0.5);
    const ending = live.leases.bookNow(id);
    const stored = (await budgetOf(id)).leases;
    expect(Object.keys(stored ?? {})).toHaveLength(2);
    await ending;
    expect(await bookLeasesAfterRun(id, new Set(), stored, 300)).toBeCloseTo(2, 9);
    expect(await budgetOf(id)).toMatchObject({ spentUsd: 2.5, reservedUsd: 0, leases: {} });
  });
});
