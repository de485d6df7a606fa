/**
 * Raise cap and continue: a run stopped by its budget resumes with a higher cap, keeping every
 * finished step. Only the requester and approvers may raise it, and only while the run waits.
 */

import { raiseCapModal } from '../../blocks/modals.js';
import { STATUS_LABELS } from '../../blocks/proposal.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { loadOrchestration } from '../run/transition.js';
import type { ModalOutcome } from './editPlan.js';
import type { Click, FormErrors } from './guard.js';
import { text } from './guard.js';

const waitingForCap = (doc: OrchestrationDoc) => doc.status === 'failed' && doc.budgetStop;

export async function raiseCapModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const { control } = click;
  const doc = control ? await loadOrchestration(control.orchestrationId) : null;
  if (!control || !doc) return { ok: false, reply: text('That run no longer exists. Nothing was changed.') };
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) return { ok: false, reply: text(`:no_entry: ${rights.reason}`) };
  if (!waitingForCap(doc)) {
    return {
      ok: false,
      reply: text(`This run is not waiting for a higher cap: it is *${STATUS_LABELS[doc.status]}*.`),
    };
  }
  const { maxUsd, spentUsd } = doc.budget;
  return { ok: true, view: raiseCapModal(control, maxUsd, services.config.budget.maxUsd, spentUsd) };
}

export async function submitRaiseCap(
  services: Services,
  click: Click,
  usd: number,
  errorBlock: string,
): Promise<FormErrors | null> {
  const fail = (message: string) => ({ [errorBlock]: message });
  const { control } = click;
  const doc = control ? await loadOrchestration(control.orchestrationId) : null;
  if (!control || !doc) return fail('That run no longer exists.');
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) return fail(rights.reason.replace(/<@(\w+)>/g, 'the requester'));
  if (!waitingForCap(doc)) return fail('This run is no longer waiting for a higher cap.');
  const ceiling = services.config.budget.maxUsd;
  // Compared as it will be stored, in cents: 2.004 against a $2.00 cap would resume at the same cap.
  const cap = Math.round(usd * 100) / 100;
  if (!(cap > 0)) return fail('Enter a positive amount in USD, like 3.00 or 2500 (no thousands separators).');
  if (cap <= doc.budget.maxUsd)
    return fail(`The new cap must be above the current one (${doc.budget.maxUsd.toFixed(2)} USD).`);
  if (cap > ceiling) return fail(`The cap can be at most $${ceiling.toFixed(2)} (ORCHESTRATE_MAX_BUDGET_USD).`);
  const id = orchestrationIdOf(doc);
  const resumed = await services.engine.raiseCapAndContinue(id, cap, click.userId);
  return resumed ? null : fail('Someone else resumed or closed this run meanwhile.');
}
