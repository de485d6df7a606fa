/**
 * Budget leases: room under an orchestration's cap that this process holds for its steps' calls,
 * so that a hand-off between steps writes nothing to the orchestration for money. A call takes its
 * worst case from the lease in memory and gives back, when it settles, what it did not cost. The
 * lease grows by one conditional update when it has too little room (calls that need room together
 * grow it together); what its calls cost is booked as spent at a quiet moment, in one write however
 * many settled; idle for a moment, or at the run's end, it is closed and its room given back.
 *
 * The cap is decided on the server, as for a call's hold: a lease is counted in `reservedUsd` and
 * grows only where spent + reserved stays within the cap, so spend never passes it. A lease is
 * stored under `budget.leases.<key>` (its size, when it was last written); every write to it applies
 * only while the key exists, so a lease left behind by a dead process is booked once (leaseStore.ts,
 * bookLeftLeases), and the process, should it be alive after all, books nothing more of it.
 */
import { Types } from 'mongoose';
import { currentTenant, type Tenant, withTenant } from '../../tenant.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { OrchestrationStatus } from '../plan/status.js';
import { type ReserveOutcome, roundUsd, whyNoRoom } from './budget.js';
import { bookLease, growLease } from './leaseStore.js';

/** A call's share of a lease: its worst case, taken while the lease was `generation`. */
export interface LeaseTicket {
  orchestrationId: OrchestrationId;
  usd: number;
  generation: number;
}

export type TakeOutcome = { ok: true; ticket: LeaseTicket } | Exclude<ReserveOutcome, { ok: true }>;

interface Lease {
  orchestrationId: OrchestrationId;
  tenant: Tenant | null;
  /** Its key under `budget.leases`; null while none is stored. */
  key: string | null;
  /** New when the stored lease is found booked by someone else: the calls taken before settle nothing. */
  generation: number;
  /** Stored `size`; in memory: worst cases of calls in flight, room set aside for calls whose growth is being written, settled calls' cost not yet booked. */
  size: number;
  inflight: number;
  earmarked: number;
  unbooked: number;
  /** Calls waiting for the lease to grow. */
  waiting: Array<{
    usd: number;
    statuses: readonly OrchestrationStatus[];
    done: (outcome: TakeOutcome) => void;
    fail: (error: unknown) => void;
  }>;
  growing: Promise<void> | null;
  /** Writes that book or close, one at a time; takes wait for a close. */
  booking: Promise<void>;
  closing: Promise<void> | null;
  bookQueued: boolean;
  /** The run is ending (its last call settled, or it was stopped): closed as soon as it is idle. */
  ending: boolean;
  /** Closes the lease once it has stayed idle for IDLE_CLOSE_MS: the run's next step may be a moment away. */
  idleClose: NodeJS.Timeout | null;
}

const EPSILON = 1e-9;
const IDLE_CLOSE_MS = 1000;
const freeRoom = (l: Lease) => l.size - l.inflight - l.unbooked - l.earmarked;

export interface LeaseOptions {
  /** Resolves at a quiet moment, when booking does not slow a hand-off. */
  quiet: () => Promise<void>;
  warn: (line: string) => void;
}

export class BudgetLeases {
  private readonly leases = new Map<string, Lease>();
  /** Generations are never reused, across leases too: a call's ticket settles only on the lease it was taken from. */
  private generations = 0;
  private readonly settled = new WeakSet<LeaseTicket>();

  constructor(private readonly options: LeaseOptions) {}

  /** Takes `usd` of room for a call: from the lease when it has it, else by growing the lease. */
  async take(
    orchestrationId: OrchestrationId,
    usd: number,
    statuses: readonly OrchestrationStatus[],
  ): Promise<TakeOutcome> {
    const lease = this.leaseOf(orchestrationId);
    while (lease.closing) await lease.closing;
    usd = roundUsd(usd);
    lease.ending = false; // a call after the end (a raised cap): the run goes on
    if (lease.key && !lease.waiting.length && freeRoom(lease) >= usd - EPSILON) {
      lease.inflight += usd;
      return { ok: true, ticket: { orchestrationId, usd, generation: lease.generation } };
    }
    return new Promise<TakeOutcome>((done, fail) => {
      lease.waiting.push({ usd, statuses, done, fail });
      if (!lease.growing) lease.growing = this.grow(lease);
    });
  }

  /** The call is over: what it cost (at most its worst case) is booked at the next quiet moment. */
  settle(ticket: LeaseTicket, costUsd: number): void {
    if (this.settled.has(ticket)) return;
    this.settled.add(ticket);
    const lease = this.leases.get(ticket.orchestrationId);
    if (!lease || lease.generation !== ticket.generation) return; // booked, whole, by whoever found it left behind
    lease.inflight = Math.max(0, lease.inflight - ticket.usd);
    lease.unbooked += Math.min(roundUsd(costUsd), ticket.usd);
    if (lease.bookQueued) return;
    lease.bookQueued = true;
    // Looked for after this turn: the hand-off this call's end starts is held by then.
    setImmediate(() =>
      this.options.quiet().then(() => {
        lease.bookQueued = false;
        return this.book(lease, false);
      }),
    );
  }

  /**
   * The run ends here (its last call settled, or it was stopped): what its calls cost is booked now,
   * and the lease closed as soon as none is in flight, rather than after a moment idle.
   */
  bookNow(orchestrationId: OrchestrationId): Promise<void> {
    const lease = this.leases.get(orchestrationId);
    if (!lease) return Promise.resolve();
    lease.ending = true;
    return this.book(lease);
  }

  /** Our leases' keys: never booked as left behind by this process. */
  keys(orchestrationId: OrchestrationId): Set<string> {
    const key = this.leases.get(orchestrationId)?.key;
    return new Set(key ? [key] : []);
  }

  /** Shutting down: every lease booked and closed once its calls have settled. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.leases.values()].map((lease) => this.book(lease)));
  }

  private leaseOf(orchestrationId: OrchestrationId): Lease {
    const known = this.leases.get(orchestrationId);
    if (known) return known;
    const lease: Lease = {
      ...{ orchestrationId, tenant: currentTenant(), key: null, generation: ++this.generations },
      ...{ size: 0, inflight: 0, earmarked: 0, unbooked: 0, waiting: [], growing: null },
      ...{ booking: Promise.resolve(), closing: null, bookQueued: false, ending: false, idleClose: null },
    };
    this.leases.set(orchestrationId, lease);
    return lease;
  }

  /** Serves the calls waiting for room: together in one write when they all fit, else one by one, in turn. */
  private async grow(lease: Lease): Promise<void> {
    // After this turn: the calls a wave starts together (they arrive within one turn) grow it in one write.
    await new Promise((next) => setImmediate(next));
    for (;;) {
      while (lease.closing) await lease.closing;
      const group = lease.waiting.splice(0);
      // Ended in the turn of the last look, so that a call arriving later starts growing anew.
      if (!group.length) {
        lease.growing = null;
        return;
      }
      try {
        if (group.length > 1 && (await this.growFor(lease, group))) continue;
        for (const call of group) await this.growFor(lease, [call]);
      } catch (error) {
        for (const call of group) call.fail(error); // a call already answered keeps its answer
      }
    }
  }

  /**
   * Grows the lease for `calls` (by what they need beyond its free room) and hands each its share.
   * False, with nothing changed, when they do not all fit; a lone call is then told why.
   */
  private async growFor(lease: Lease, calls: Lease['waiting']): Promise<boolean> {
    const wanted = roundUsd(calls.reduce((sum, c) => sum + c.usd, 0));
    for (;;) {
      const free = lease.key ? Math.max(0, freeRoom(lease)) : 0;
      const needed = roundUsd(Math.max(0, wanted - free));
      const earmark = wanted - needed;
      const generation = lease.generation;
      lease.earmarked += earmark;
      let outcome: 'ok' | 'lost' | Exclude<ReserveOutcome, { ok: true }>;
      try {
        outcome = needed > EPSILON ? await this.growBy(lease, needed, calls[0]!.statuses, wanted, generation) : 'ok';
      } finally {
        lease.earmarked -= earmark;
      }
      if (outcome === 'lost' || lease.generation !== generation) {
        this.lose(lease, generation);
        continue;
      }
      if (outcome !== 'ok') {
        if (calls.length > 1) return false;
        calls[0]!.done(outcome);
        return true;
      }
      lease.inflight += wanted;
      for (const call of calls)
        call.done({
          ok: true,
          ticket: { orchestrationId: lease.orchestrationId, usd: call.usd, generation: lease.generation },
        });
      return true;
    }
  }

  /** One conditional update: the lease grows by `usd` if spent + reserved + usd stays within the cap. */
  private async growBy(
    lease: Lease,
    usd: number,
    statuses: readonly OrchestrationStatus[],
    wanted: number,
    generation: number,
  ): Promise<'ok' | 'lost' | Exclude<ReserveOutcome, { ok: true }>> {
    const creating = !lease.key;
    const key = lease.key ?? new Types.ObjectId().toHexString();
    const grown = await withTenant(lease.tenant, () =>
      growLease(lease.orchestrationId, key, usd, { creating, statuses }),
    );
    if (grown) {
      // Lost meanwhile (its key booked by someone else): what grew went with it. A new key is kept.
      if (!creating && lease.generation !== generation) return 'lost';
      lease.key = key;
      lease.size += usd; // the same sum the database makes, so that a close gives back exactly what it holds
      return 'ok';
    }
    // What this lease's calls cost is spent already, though not yet booked.
    const { outcome, leases } = await withTenant(lease.tenant, () =>
      whyNoRoom(lease.orchestrationId, wanted, statuses, lease.unbooked),
    );
    if (outcome.reason === 'budget' && !creating && !leases[key]) return 'lost';
    return outcome;
  }

  /** The stored lease was booked by someone else: start afresh, the calls taken before settling nothing. */
  private lose(lease: Lease, generation: number): void {
    if (lease.generation !== generation) return;
    this.options.warn(`the budget lease of ${lease.orchestrationId} was booked as left behind while in use`);
    Object.assign(lease, { key: null, generation: ++this.generations, size: 0, inflight: 0, unbooked: 0 });
  }

  /** Books what settled calls cost; with no call in flight or waiting, closes the lease, giving back its room. */
  private book(lease: Lease, close = true): Promise<void> {
    const next = lease.booking.then(() => this.bookOnce(lease, close));
    lease.booking = next.catch((error: unknown) => {
      this.options.warn(`could not book a budget lease (tried again at the next settle): ${String(error)}`);
    });
    return lease.booking;
  }

  private async bookOnce(lease: Lease, close: boolean): Promise<void> {
    const key = lease.key;
    if (!key) return this.forget(lease);
    const unbooked = roundUsd(lease.unbooked);
    const { generation, size } = lease;
    const idle = lease.inflight < EPSILON && !lease.waiting.length && !lease.growing;
    const closing = idle && (close || lease.ending);
    if (idle && !closing && !lease.idleClose) {
      lease.idleClose = setTimeout(() => {
        lease.idleClose = null;
        void this.book(lease);
      }, IDLE_CLOSE_MS);
      lease.idleClose.unref();
    }
    if (!closing && unbooked < EPSILON) return;
    // A call taking room waits while the lease closes, and finds it closed, or still open, after.
    let closed = () => {};
    if (closing) lease.closing = new Promise((resolve) => (closed = resolve));
    try {
      const booking = { unbooked, released: closing ? size : unbooked, close: closing };
      if (!(await withTenant(lease.tenant, () => bookLease(lease.orchestrationId, key, booking))))
        return this.lose(lease, generation);
      lease.unbooked = roundUsd(lease.unbooked - unbooked);
      if (closing) Object.assign(lease, { key: null, size: 0 });
      else lease.size -= unbooked;
    } finally {
      if (closing) lease.closing = null;
      closed();
    }
    this.forget(lease);
  }

  /** A lease with nothing stored and nothing in flight is forgotten. */
  private forget(lease: Lease): void {
    if (lease.key || lease.inflight > EPSILON || lease.waiting.length || lease.growing || lease.bookQueued) return;
    if (lease.idleClose) clearTimeout(lease.idleClose);
    if (this.leases.get(lease.orchestrationId) === lease) this.leases.delete(lease.orchestrationId);
  }
}
