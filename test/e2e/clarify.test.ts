/**
 * The CEO agent's questions before it plans an ambiguous goal, end to end: posted to the requester
 * with Answer and Skip; the answers reach the planning prompt; Skip plans without them; a clear
 * goal is planned at once; ORCHESTRATE_CLARIFY=off asks nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ViewIds } from '../../src/blocks/actionIds.js';
import { answerInput } from '../../src/blocks/clarify.js';
import { Orchestration } from '../../src/models/orchestration.js';
import type { FakeReply } from '../fakes/fakeOpenAI.js';
import {
  CHANNEL,
  eventually,
  findButton,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const QUESTIONS = ['Who is the audience?', 'How long should the doc be?'];

async function ask(questions: string[]) {
  h = await startHarness({ ORCHESTRATE_CLARIFY: 'on' });
  const crew = scriptedResponder();
  h.llm.responder = (req): FakeReply =>
    req.toolName === 'ask_clarifying_questions' ? { tool: 'ask_clarifying_questions', args: { questions } } : crew(req);
  const res = await h.command('Write a positioning doc');
  expect(res.status).toBe(200);
  return h;
}

const planningRequests = (harness: Harness) => harness.llm.requests.filter((r) => r.toolName === 'propose_plan');

async function questionsPost(harness: Harness) {
  const post = await harness.slack.waitFor(
    (c) => c.method === 'chat.postMessage' && findButton(c, 'plan.answer_questions') !== undefined,
  );
  return { post, value: findButton(post, 'plan.answer_questions')!.value };
}

describe('clarifying questions', () => {
  it('asks the requester first; the answers reach the planning prompt, and a second answer changes nothing', async () => {
    const harness = await ask(QUESTIONS);
    const { post, value } = await questionsPost(harness);
    expect(post.args.channel).toBe(CHANNEL);
    expect(JSON.stringify(post.args.blocks)).toContain(`<@${REQUESTER}>, before I plan`);
    expect(JSON.stringify(post.args.blocks)).toContain('2. How long should the doc be?');
    expect(planningRequests(harness)).toHaveLength(0);

    await harness.click('plan.answer_questions', value, REQUESTER, post.args.ts ?? '1.0');
    const modal = await harness.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.answerQuestions,
    );
    const meta = modal.args.view.private_metadata;
    const answers = {
      [answerInput(0).block]: { [answerInput(0).action]: { type: 'plain_text_input', value: 'Product managers' } },
      [answerInput(1).block]: { [answerInput(1).action]: { type: 'plain_text_input', value: 'One page' } },
    };
    expect((await harness.submit(ViewIds.answerQuestions, meta, answers)).text).toBe('');
    await harness.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && findButton(c, 'orchestrate.approve') !== undefined,
    );
    const planning = planningRequests(harness);
    expect(planning).toHaveLength(1);
    expect(planning[0]!.user).toContain('Q: Who is the audience?\n  A: Product managers');
    expect(planning[0]!.user).toContain('Q: How long should the doc be?\n  A: One page');
    const doc = (await Orchestration.findOne({ goal: 'Write a positioning doc' }).lean())!;
    expect(doc.clarification).toMatchObject({
      state: 'answered',
      by: REQUESTER,
      answers: ['Product managers', 'One page'],
    });
    // The clarifying call was metered like planning.
    expect(doc.budget.spentUsd).toBeGreaterThan(0);

    const again = await harness.submit(ViewIds.answerQuestions, meta, answers);
    expect(JSON.stringify(again.json?.errors)).toContain('already answered or skipped');
    expect(planningRequests(harness)).toHaveLength(1);
  });

  it('Skip plans with what it has; only the requester or an approver may skip', async () => {
    const harness = await ask(QUESTIONS);
    const { value, post } = await questionsPost(harness);
    await harness.click('plan.skip_questions', value, 'U_STRANGER', post.args.ts ?? '1.0');
    await new Promise((r) => setTimeout(r, 300));
    expect(planningRequests(harness)).toHaveLength(0);
    await harness.click('plan.skip_questions', value, REQUESTER, post.args.ts ?? '1.0');
    await harness.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && findButton(c, 'orchestrate.approve') !== undefined,
    );
    expect(planningRequests(harness)[0]!.user).not.toContain('Before planning you asked');
    const doc = (await Orchestration.findOne({ goal: 'Write a positioning doc' }).lean())!;
    expect(doc.clarification?.state).toBe('skipped');
  });

  it('plans a clear goal at once, and asks nothing when ORCHESTRATE_CLARIFY is off', async () => {
    const harness = await ask([]);
    await harness.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && findButton(c, 'orchestrate.approve') !== undefined,
    );
    expect(harness.llm.requests.filter((r) => r.toolName === 'ask_clarifying_questions')).toHaveLength(1);
    await harness.stop();

    h = await startHarness();
    await h.propose();
    expect(h.llm.requests.filter((r) => r.toolName === 'ask_clarifying_questions')).toHaveLength(0);
    await eventually(() => planningRequests(h!).length === 1, 5000, 'planned');
  });
});
