/**
 * Asking a finished run's deliverable: the synthesis role answers a question in the run's thread
 * from the run's results (with its tools, if it has any), citing what it relied on. Each question
 * is handled once (Slack may deliver a mention twice), may cost at most ORCHESTRATE_QUESTION_BUDGET_USD,
 * and is reserved against the run's own cap like any call: what it costs is the run's spend.
 */
import { answerMessages } from '../../blocks/afterRun.js';
import { formatUsd } from '../../blocks/text.js';
import { MARKDOWN_CHUNK } from '../../blocks/thread.js';
import { describeError, hasCode } from '../../errors.js';
import { Agent } from '../../models/agent.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { agentSystemPrompt } from '../llm/prompts.js';
import { inputTokensUpperBound } from '../money/pricing.js';
import { roleKitOf } from '../plan/choices.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { MAX_CONTEXT_CHARS } from '../plan/results.js';
import { checkSources, citedUrls, RunSourceLedger } from '../tools/sources.js';
import { type EngineContext, meterFor } from './context.js';
import { answerText } from './stepCalls.js';

export interface Question {
  orchestrationId: OrchestrationId;
  question: string;
  userId: string;
  /** The mention's ts: the key that makes a repeat delivery a no-op. */
  ts: string;
}

const clip = (text: string, max = MAX_CONTEXT_CHARS) => (text.length > max ? `${text.slice(0, max)}\n[…cut]` : text);

export function questionPrompt(doc: OrchestrationDoc, results: StepDoc[], question: string): string {
  return [
    `# Goal\n${doc.goal}`,
    '',
    `# The deliverable\n${clip(doc.deliverable?.markdown ?? '', 12_000)}`,
    '',
    '# The ticket results it was built from',
    ...results.map((r) => `## ${r.title}\n${clip(r.output ?? '')}`),
    '',
    `# A question from the team\n${question}`,
    '',
    'Answer from the run’s results above, briefly, in Markdown. End with a **Sources** section naming the ticket ' +
      'results you relied on by their titles, and the URLs they cite that you used. If the results do not say, say so.',
  ].join('\n');
}

/** Answers (or says why not) in the run's thread. */
export async function answerQuestion(ctx: EngineContext, q: Question): Promise<void> {
  const id = q.orchestrationId;
  // Handled once, whatever Slack redelivers.
  const marked = await Orchestration.findOneAndUpdate(
    { _id: id, deliverable: { $ne: null }, 'questions.ts': { $ne: q.ts } },
    { $push: { questions: { ts: q.ts, by: q.userId, at: new Date(), question: q.question.slice(0, 2000) } } },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
  if (!marked?.runId || !marked.proposal) return;
  const doc = marked;
  const post = (message: ReturnType<typeof answerMessages>) =>
    ctx.announcer.post(
      doc,
      message.map((m, i) => ({ key: `${orchestrationIdOf(doc)}:question:${q.ts}:${i}`, message: m })),
    );
  const say = (text: string) => post([{ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }]);

  const [synthesis, results] = await Promise.all([
    Step.findOne({ runId: doc.runId, kind: 'synthesis' }).lean<StepDoc>(),
    Step.find({ runId: doc.runId, kind: 'ticket', status: 'succeeded' }).sort({ order: 1 }).lean<StepDoc[]>(),
  ]);
  const agent = synthesis?.agentId ? await Agent.findById(synthesis.agentId).lean() : null;
  const proposal = marked.proposal;
  const kit = roleKitOf(proposal, proposal.synthesis.role);
  const model = kit.model ?? ctx.models.defaultModel;
  const system = agentSystemPrompt({
    name: agent?.name ?? 'the synthesis agent',
    title: agent?.title ?? '',
    persona: agent?.persona ?? '',
  });
  const user = questionPrompt(doc, results, q.question);
  const limit = ctx.config.budget.questionUsd;
  const maxTokens = ctx.config.llm.maxOutputTokens;
  const worst = ctx.models.pricerFor(kit.model).worstCase(inputTokensUpperBound([system, user]), maxTokens);
  const room = doc.budget.maxUsd - doc.budget.spentUsd - doc.budget.reservedUsd;
  if (worst > limit) {
    await say(
      `:no_entry: That question could cost up to ${formatUsd(worst)}, more than the ${formatUsd(limit)} one question may ` +
        'cost (ORCHESTRATE_QUESTION_BUDGET_USD). Ask something narrower, or ask an admin to raise it.',
    );
    return;
  }
  const ledger = new RunSourceLedger();
  const controller = new AbortController();
  try {
    const r = await answerText(
      {
        meter: { ...meterFor(ctx, id, { name: `question:${q.ts}`, model: kit.model }), afterEnd: true },
        signal: controller.signal,
        maxTokens,
        attempts: ctx.config.engine.stepAttempts,
        retryBaseMs: ctx.config.engine.retryBaseMs,
        tools: ctx.tools.forStep({ orchestrationId: id, ledger, signal: controller.signal }, kit.tools),
        toolLimits: {
          maxToolCalls: ctx.config.tools.maxToolCalls,
          resultMaxChars: ctx.config.tools.resultMaxChars,
          timeLimitMs: ctx.config.tools.stepTimeLimitMs,
        },
      },
      { system, user, maxTokens, signal: controller.signal },
    );
    const retrieved = [...ledger.entries(), ...results.flatMap((s) => s.retrieved ?? [])];
    const checked = checkSources(citedUrls(r.answer), retrieved);
    const unverified = checked.filter((c) => !c.retrieved).length;
    const figures = [
      model,
      unverified ? `${unverified} cited URL(s) not retrieved in this run` : null,
      `asked by <@${q.userId}>`,
    ]
      .filter(Boolean)
      .join(' · ');
    await post(answerMessages(q.question, r.answer, figures, MARKDOWN_CHUNK));
  } catch (error) {
    if (hasCode(error, 'budget_exceeded')) {
      await say(
        `:no_entry: The run has ${formatUsd(Math.max(0, room))} left of its ${formatUsd(doc.budget.maxUsd)} cap ` +
          `(${formatUsd(doc.budget.spentUsd)} spent), and this question could cost up to ${formatUsd(error.neededUsd)}.`,
      );
      return;
    }
    ctx.logger.warn(`answering a question about ${id} failed: ${describeError(error)}`);
    await say(':warning: I could not answer that just now (the model did not answer). Ask again in a moment.');
  }
}
