/**
 * Storing edits as revisions: a cap can never be lowered below what is committed (spent, and held
 * for a call in flight such as Ask again), and the document keeps a bounded history however many
 * edits are made.
 */
import { describe, expect, it } from 'vitest';
import { reserve, settle } from '../../../src/engine/money/budget.js';
import { setBudget } from '../../../src/engine/plan/edits.js';
import { HISTORY_KEPT, revise } from '../../../src/engine/review/revise.js';
import { submitBudget } from '../../../src/engine/usecases/editPlan.js';
import { clickOn, load, makeServices, REQUESTER, seed, useDatabase } from '../usecases/support.js';

useDatabase();

describe('revise', () => {
  it('refuses a cap below spend plus a hold in flight, so a replan settling later cannot pass it', async () => {
    // $0.12 spent; Ask again holds $0.14; someone tries a $0.15 cap.
    const id = await seed({ maxUsd: 2, spentUsd: 0.12 });
    const hold = await reserve(id, 0.14, 'replan:1');
    expect(hold.ok).toBe(true);
    const outcome = await revise({
      id,
      revision: 1,
      by: REQUESTER,
      change: 'cap',
      edit: (p) => setBudget(p, 0.15, 100),
    });
    expect(outcome).toMatchObject({ ok: false, reason: 'invalid' });
    expect(!outcome.ok && outcome.message).toMatch(/\$0\.1200 spent and \$0\.1400 is held for a call in flight/);
    const { services } = makeServices();
    const errors = await submitBudget(services, clickOn(id, 1), 0.15, 'budget');
    expect(errors?.budget).toMatch(/held for a call in flight/);
    // The replan settles at its worst case: spend never passes the cap, which stayed $2.
    if (hold.ok) await settle(id, hold.holdId, 0.14, 0.14);
    const doc = await load(id);
    expect(doc.budget.maxUsd).toBe(2);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);
    // Once nothing is held, a cap at the spend is fine.
    const ok = await revise({ id, revision: 1, by: REQUESTER, change: 'cap', edit: (p) => setBudget(p, 0.26, 100) });
    expect(ok.ok).toBe(true);
  });

  it('keeps only the latest revisions on the document, however many edits are made', async () => {
    const id = await seed();
    for (let r = 1; r <= HISTORY_KEPT + 10; r++) {
      const outcome = await revise({
        id,
        revision: r,
        by: REQUESTER,
        change: `edit ${r}`,
        edit: (p) => setBudget(p, 1 + r / 100, 100),
      });
      expect(outcome.ok).toBe(true);
    }
    const doc = await load(id);
    expect(doc.revision).toBe(HISTORY_KEPT + 11);
    expect(doc.history).toHaveLength(HISTORY_KEPT);
    expect(doc.history.at(-1)).toMatchObject({ revision: HISTORY_KEPT + 11, change: `edit ${HISTORY_KEPT + 10}` });
  });
});
