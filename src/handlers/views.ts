/**
 * Modal submissions: Swap role, Set budget, Ask again. Every check that fails is shown in the
 * modal, next to the field it is about, and the modal stays open; a success closes it and
 * redraws the proposal message as the next revision.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { decodeControlValue, InputIds, ViewIds, type ControlValue } from '../blocks/actionIds.js';
import { NEW_HIRE_OPTION_VALUE } from '../blocks/modals.js';
import { EditError, revise, setBudget, swapRole } from '../engine/edits.js';
import type { Hire, Proposal } from '../engine/proposal.js';
import { mayAct } from '../engine/rights.js';
import { rosterAgents } from '../engine/roster.js';
import { Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import type { Services } from '../services.js';

type Values = ViewSubmitAction['view']['state']['values'];
type Ack = SlackViewMiddlewareArgs<ViewSubmitAction>['ack'];

const input = (values: Values, id: { block: string; action: string }) => values[id.block]?.[id.action];
const textOf = (values: Values, id: { block: string; action: string }) => (input(values, id)?.value ?? '').trim();

/** Shared checks of a submission; answers with errors in the modal and returns null when it must change nothing. */
async function checkSubmission(
  services: Services,
  body: ViewSubmitAction,
  ack: Ack,
  errorBlock: string,
  botUserId: string | undefined,
): Promise<{ doc: OrchestrationDoc; meta: ControlValue } | null> {
  const fail = (message: string) => ack({ response_action: 'errors', errors: { [errorBlock]: message } }).then(() => null);
  const meta = decodeControlValue(body.view.private_metadata);
  if (!meta) return fail('This form is not one Orchestrate understands. Close it and click the button again.');
  const doc = await Orchestration.findById(meta.o).lean<OrchestrationDoc>();
  if (!doc?.proposal) return fail('That orchestration no longer exists.');
  const rights = mayAct(body.user.id, doc.requesterId, services.config.approvers, botUserId);
  if (!rights.allowed) return fail(rights.reason.replace(/<@(\w+)>/g, 'the requester'));
  if (doc.status !== 'proposed') return fail('The plan can no longer be edited: it was approved or closed.');
  if (doc.revision !== meta.r) {
    return fail(`The plan changed while this form was open (it is now revision ${doc.revision}). Close this and open it again from the current plan.`);
  }
  return { doc, meta };
}

async function saveRevision(
  services: Services,
  ack: Ack,
  errorBlock: string,
  doc: OrchestrationDoc,
  meta: ControlValue,
  by: string,
  change: string,
  edit: (p: Proposal) => Proposal,
): Promise<void> {
  const roster = (await rosterAgents()).map((a) => a.name);
  const outcome = await revise(doc._id, meta.r, by, change, edit, roster);
  if (!outcome.ok) {
    await ack({ response_action: 'errors', errors: { [errorBlock]: outcome.message.slice(0, 500) } });
    return;
  }
  await ack();
  await services.engine.announcer.refresh(doc._id);
}

/**
 * "$1.50", "1,50" and "1.5" are all one dollar fifty. A comma is a decimal mark only before one
 * or two final digits: "2,500" is ambiguous (2.5 or 2500?), so it is refused, not guessed.
 * Anything else is NaN.
 */
export function parseUsd(input: string): number {
  const raw = input.trim().replace(/^\$\s*/, '').replace(/\s*(USD|\$)$/i, '');
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (/^\d+,\d{1,2}$/.test(raw)) return Number(raw.replace(',', '.'));
  return Number.NaN;
}

export function register(app: App, services: Services): void {
  /** Every submission: whatever fails before the answer is shown in the modal, which stays open. */
  const onSubmit = (callbackId: string, errorBlock: string, handle: (args: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => Promise<void>) =>
    app.view<ViewSubmitAction>(callbackId, async (args) => {
      let acked = false;
      const ack = ((response?: Parameters<Ack>[0]) => {
        acked = true;
        return args.ack(response);
      }) as Ack;
      try {
        await handle({ ...args, ack });
      } catch (error) {
        services.logger.error(`${callbackId} failed: ${(error as Error).message}`);
        if (!acked) {
          await args.ack({ response_action: 'errors', errors: { [errorBlock]: 'Orchestrate could not save this (its database did not answer). Nothing was changed; try again in a moment.' } });
        }
      }
    });

  onSubmit(ViewIds.swapRole, InputIds.hireName.block, async ({ ack, body, view, context }) => {
    const checked = await checkSubmission(services, body, ack, InputIds.hireName.block, context.botUserId);
    if (!checked) return;
    const { doc, meta } = checked;
    const values = view.state.values;
    const chosen = input(values, InputIds.rosterAgent)?.selected_option?.value ?? null;
    const agent = chosen === NEW_HIRE_OPTION_VALUE ? null : chosen;
    const name = textOf(values, InputIds.hireName);
    const persona = textOf(values, InputIds.hirePersona);
    const skills = textOf(values, InputIds.hireSkills)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    let to: { existingAgent: string } | { hire: Hire };
    if (agent) {
      to = { existingAgent: agent };
    } else {
      // Checked here, field by field, so that each error shows next to the field it is about.
      const errors: Record<string, string> = {};
      if (!name) errors[InputIds.hireName.block] = 'Give the new hire a name, or pick an agent from the roster.';
      else if (name.length > 80) errors[InputIds.hireName.block] = `At most 80 characters; this is ${name.length}.`;
      if (!persona) errors[InputIds.hirePersona.block] = 'Describe the new hire in a sentence or two.';
      else if (persona.length > 2000) errors[InputIds.hirePersona.block] = `At most 2,000 characters; this is ${persona.length}.`;
      const long = skills.find((k) => k.length > 80);
      if (skills.length > 12) errors[InputIds.hireSkills.block] = `At most 12 skills; these are ${skills.length}.`;
      else if (long) errors[InputIds.hireSkills.block] = `Each skill at most 80 characters; "${long.slice(0, 30)}…" is ${long.length}.`;
      if (Object.keys(errors).length) {
        await ack({ response_action: 'errors', errors });
        return;
      }
      to = { hire: { name, persona, skills } };
    }
    const role = meta.k ?? '';
    const change = 'existingAgent' in to ? `role ${role} → roster agent ${to.existingAgent}` : `role ${role} → new hire ${name}`;
    const errorBlock = 'existingAgent' in to ? InputIds.rosterAgent.block : InputIds.hireName.block;
    await saveRevision(services, ack, errorBlock, doc, meta, body.user.id, change, (p) => swapRole(p, role, to));
  });

  onSubmit(ViewIds.setBudget, InputIds.budget.block, async ({ ack, body, view, context }) => {
    const block = InputIds.budget.block;
    const checked = await checkSubmission(services, body, ack, block, context.botUserId);
    if (!checked) return;
    const { doc, meta } = checked;
    const usd = parseUsd(textOf(view.state.values, InputIds.budget));
    try {
      setBudget(doc.proposal!, usd, services.config.budget.maxUsd);
    } catch (error) {
      await ack({ response_action: 'errors', errors: { [block]: (error as EditError).message } });
      return;
    }
    if (usd < doc.budget.spentUsd) {
      await ack({ response_action: 'errors', errors: { [block]: `Planning already spent $${doc.budget.spentUsd.toFixed(4)}; the cap cannot be lower.` } });
      return;
    }
    await saveRevision(services, ack, block, doc, meta, body.user.id, `budget → $${usd.toFixed(2)}`, (p) =>
      setBudget(p, usd, services.config.budget.maxUsd),
    );
  });

  onSubmit(ViewIds.raiseCap, InputIds.budget.block, async ({ ack, body, view, context }) => {
    const block = InputIds.budget.block;
    const fail = (message: string) => ack({ response_action: 'errors', errors: { [block]: message } });
    const meta = decodeControlValue(body.view.private_metadata);
    const doc = meta ? await Orchestration.findById(meta.o).lean<OrchestrationDoc>() : null;
    if (!meta || !doc) return void (await fail('That run no longer exists.'));
    const rights = mayAct(body.user.id, doc.requesterId, services.config.approvers, context.botUserId);
    if (!rights.allowed) return void (await fail(rights.reason.replace(/<@(\w+)>/g, 'the requester')));
    if (doc.status !== 'failed' || !doc.budgetStop) return void (await fail('This run is no longer waiting for a higher cap.'));
    const usd = parseUsd(textOf(view.state.values, InputIds.budget));
    const ceiling = services.config.budget.maxUsd;
    if (!(usd > 0)) return void (await fail('Enter a positive amount in USD, like 3.00 or 2500 (no thousands separators).'));
    if (usd <= doc.budget.maxUsd) return void (await fail(`The new cap must be above the current one (${doc.budget.maxUsd.toFixed(2)} USD).`));
    if (usd > ceiling) return void (await fail(`The cap can be at most $${ceiling.toFixed(2)} (ORCHESTRATE_MAX_BUDGET_USD).`));
    const resumed = await services.engine.raiseCapAndContinue(String(doc._id), Math.round(usd * 100) / 100, body.user.id);
    if (!resumed) return void (await fail('Someone else resumed or closed this run meanwhile.'));
    await ack();
  });

  onSubmit(ViewIds.askAgain, InputIds.note.block, async ({ ack, body, view, context }) => {
    const checked = await checkSubmission(services, body, ack, InputIds.note.block, context.botUserId);
    if (!checked) return;
    await ack();
    const note = textOf(view.state.values, InputIds.note) || null;
    await services.engine.enqueueReplan(String(checked.doc._id), checked.meta.r, body.user.id, note, checked.meta.u ?? null);
    await services.engine.announcer.respond(
      checked.meta.u ?? null,
      `:hourglass_flowing_sand: Asking the CEO agent again… Its new plan will replace revision ${checked.meta.r} in the proposal message.`,
    );
  });
}
