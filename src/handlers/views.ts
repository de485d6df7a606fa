/**
 * Modal submissions: Swap role, Set budget, Raise cap, Ask again. Each listener parses the form,
 * calls one use case, and acks with the errors it returns (shown next to their field, the modal
 * staying open) or with nothing, which closes the modal.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { decodeControlValue, InputIds, ViewIds } from '../blocks/actionIds.js';
import { answerInput } from '../blocks/clarify.js';
import { ContextIds } from '../blocks/contextIds.js';
import { NEW_HIRE_OPTION_VALUE } from '../blocks/modals.js';
import { OutputInputIds, outputBlockId, ticketOfBlock } from '../blocks/outputModal.js';
import { SUBMISSION_FAILED } from '../blocks/replies.js';
import { submitContext } from '../engine/usecases/addContext.js';
import { submitFollowUp, submitRerun } from '../engine/usecases/afterRun.js';
import { submitAskAgain } from '../engine/usecases/askAgain.js';
import { submitAnswers } from '../engine/usecases/clarify.js';
import { submitOutputs } from '../engine/usecases/editOutputs.js';
import { submitBudget, submitSwapRole } from '../engine/usecases/editPlan.js';
import type { Click, FormErrors } from '../engine/usecases/guard.js';
import { submitRaiseCap } from '../engine/usecases/raiseCap.js';
import { submitReviewGates } from '../engine/usecases/reviewGates.js';
import { submitReview } from '../engine/usecases/steer.js';
import { submitSaveTemplate } from '../engine/usecases/templates.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

type Values = ViewSubmitAction['view']['state']['values'];
type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type InputId = { block: string; action: string };

const input = (values: Values, id: InputId) => values[id.block]?.[id.action];
const textOf = (values: Values, id: InputId) => (input(values, id)?.value ?? '').trim();

/**
 * "$1.50", "1,50" and "1.5" are all one dollar fifty. A comma is a decimal mark only before one
 * or two final digits: "2,500" is ambiguous (2.5 or 2500?), so it is refused, not guessed.
 * Anything else is NaN.
 */
export function parseUsd(text: string): number {
  const raw = text
    .trim()
    .replace(/^\$\s*/, '')
    .replace(/\s*(USD|\$)$/i, '');
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (/^\d+,\d{1,2}$/.test(raw)) return Number(raw.replace(',', '.'));
  return Number.NaN;
}

function formOf({ body, context }: SubmitArgs): Click {
  return {
    control: decodeControlValue(body.view.private_metadata),
    userId: body.user.id,
    botUserId: context.botUserId,
  };
}

/**
 * The role's tools and model as the form has them: null where the form had no such field (no tools
 * offered, one model, or a modal drawn before roles had either), which keeps what the role has, as
 * opposed to an empty choice, which takes its tools away.
 */
export function kitOf(values: Values): { tools: string[] | null; model: string | null } {
  const tools = input(values, InputIds.roleTools);
  const model = input(values, InputIds.roleModel);
  return {
    tools: tools ? (tools.selected_options ?? []).map((o) => o.value) : null,
    model: model?.selected_option?.value ?? null,
  };
}

const SWAP_ROLE_BLOCKS = {
  rosterAgent: InputIds.rosterAgent.block,
  hireName: InputIds.hireName.block,
  hirePersona: InputIds.hirePersona.block,
  hireSkills: InputIds.hireSkills.block,
  tools: InputIds.roleTools.block,
  model: InputIds.roleModel.block,
};

export function register(app: App, services: Services): void {
  /** Every submission: whatever fails before the answer is shown in the modal, which stays open. */
  const onSubmit = (
    callbackId: string,
    errorBlock: string | ((args: SubmitArgs) => string),
    handle: (args: SubmitArgs) => Promise<FormErrors | null>,
  ) =>
    app.view<ViewSubmitAction>(callbackId, async (args) => {
      let errors: FormErrors | null;
      try {
        errors = await handle(args);
      } catch (error) {
        services.logger.error(`${callbackId} failed: ${describeError(error)}`);
        const block = typeof errorBlock === 'string' ? errorBlock : errorBlock(args);
        errors = { [block]: SUBMISSION_FAILED };
      }
      await args.ack(errors ? { response_action: 'errors', errors } : undefined);
    });

  onSubmit(ViewIds.swapRole, InputIds.hireName.block, (args) => {
    const values = args.view.state.values;
    const chosen = input(values, InputIds.rosterAgent)?.selected_option?.value ?? null;
    const form = {
      agent: chosen === NEW_HIRE_OPTION_VALUE ? null : chosen,
      name: textOf(values, InputIds.hireName),
      persona: textOf(values, InputIds.hirePersona),
      skills: textOf(values, InputIds.hireSkills)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      ...kitOf(values),
    };
    return submitSwapRole(services, formOf(args), form, SWAP_ROLE_BLOCKS);
  });

  // One pair of inputs a ticket, read back by the ticket key their block ids carry.
  const firstInput = (args: SubmitArgs) => Object.keys(args.view.state.values)[0] ?? 'output';
  onSubmit(ViewIds.editOutputs, firstInput, (args) => {
    const values = args.view.state.values;
    const forms = Object.keys(values).flatMap((block) => {
      const ticketKey = ticketOfBlock('description', block);
      if (ticketKey === null) return [];
      const blocks = { description: block, fields: outputBlockId('fields', ticketKey) };
      const read = (id: string, action: string) => (values[id]?.[action]?.value ?? '').trim();
      return [
        {
          ticketKey,
          description: read(blocks.description, OutputInputIds.description.action),
          fields: read(blocks.fields, OutputInputIds.fields.action),
          blocks,
        },
      ];
    });
    return submitOutputs(services, formOf(args), forms);
  });

  // One answer a question, in order; the errors go to the first.
  onSubmit(ViewIds.answerQuestions, answerInput(0).block, (args) => {
    const values = args.view.state.values;
    const count = Object.keys(values).filter((block) => block.startsWith('clarify_answer_')).length;
    const answers = Array.from({ length: count }, (_, i) => textOf(values, answerInput(i)));
    return submitAnswers(services, formOf(args), answers, answerInput(0).block);
  });

  onSubmit(ViewIds.rerunStep, InputIds.feedback.block, (args) =>
    submitRerun(services, formOf(args), textOf(args.view.state.values, InputIds.feedback), InputIds.feedback.block),
  );
  onSubmit(ViewIds.followUp, InputIds.gaps.block, (args) => {
    const values = args.view.state.values;
    return submitFollowUp(services, formOf(args), {
      gaps: input(values, InputIds.gaps)?.value ?? '',
      budgetUsd: parseUsd(textOf(values, InputIds.budget)),
      blocks: { gaps: InputIds.gaps.block, budget: InputIds.budget.block },
    });
  });

  onSubmit(ViewIds.saveTemplate, InputIds.templateName.block, (args) => {
    const values = args.view.state.values;
    return submitSaveTemplate(services, formOf(args), {
      name: textOf(values, InputIds.templateName),
      description: textOf(values, InputIds.templateDescription),
      params: input(values, InputIds.templateParams)?.value ?? '',
      blocks: { name: InputIds.templateName.block, params: InputIds.templateParams.block },
    });
  });

  onSubmit(ViewIds.reviewGates, InputIds.reviewGates.block, (args) => {
    const chosen = input(args.view.state.values, InputIds.reviewGates)?.selected_options ?? [];
    return submitReviewGates(
      services,
      formOf(args),
      chosen.map((o) => o.value),
      InputIds.reviewGates.block,
    );
  });

  // Rework and Edit of a gated result: the text goes to the step, the errors next to the field.
  const reviewForm = (callbackId: string, kind: 'rework' | 'edit', id: InputId) =>
    onSubmit(callbackId, id.block, (args) =>
      submitReview(
        services,
        {
          privateMetadata: args.body.view.private_metadata,
          userId: args.body.user.id,
          botUserId: args.context.botUserId,
        },
        kind,
        input(args.view.state.values, id)?.value ?? '',
        id.block,
      ),
    );
  reviewForm(ViewIds.reworkResult, 'rework', InputIds.feedback);
  reviewForm(ViewIds.editResult, 'edit', InputIds.resultText);

  // Files are read before the ack: an unreadable file can only be named in it (the use case stops reading after 2 s).
  onSubmit(ContextIds.modal, ContextIds.files.block, (args) => {
    const values = args.view.state.values;
    const files = (input(values, ContextIds.files)?.files ?? []).map((f) => ({ id: f.id, name: f.name }));
    const notes = textOf(values, ContextIds.notes);
    return submitContext(
      services,
      args.client,
      formOf(args),
      { files, notes },
      {
        files: ContextIds.files.block,
        notes: ContextIds.notes.block,
      },
    );
  });

  // Both budget forms read one amount field and show its errors there.
  const amountForm = (callbackId: string, submit: typeof submitBudget) =>
    onSubmit(callbackId, InputIds.budget.block, (args) => {
      const usd = parseUsd(textOf(args.view.state.values, InputIds.budget));
      return submit(services, formOf(args), usd, InputIds.budget.block);
    });
  amountForm(ViewIds.setBudget, submitBudget);
  amountForm(ViewIds.raiseCap, submitRaiseCap);

  // Acked before the replanning is enqueued: the modal closes at once, and the outcome reaches the clicker later.
  app.view<ViewSubmitAction>(ViewIds.askAgain, async (args) => {
    const block = InputIds.note.block;
    try {
      const note = textOf(args.view.state.values, InputIds.note) || null;
      const outcome = await submitAskAgain(services, formOf(args), note, block);
      if ('errors' in outcome) return void (await args.ack({ response_action: 'errors', errors: outcome.errors }));
      await args.ack();
      await outcome.enqueue();
    } catch (error) {
      services.logger.error(`${ViewIds.askAgain} failed: ${describeError(error)}`);
      await args.ack({ response_action: 'errors', errors: { [block]: SUBMISSION_FAILED } }).catch(() => undefined);
    }
  });
}
