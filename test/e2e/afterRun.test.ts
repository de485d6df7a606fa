/**
 * After the run, end to end: re-run a middle ticket of a completed run (it, its dependents after the
 * button, and the synthesis make new calls; nothing else does), follow up on the gaps with a linked
 * orchestration, and ask the deliverable a question in the thread, within a per-question cap.
 */
import { Types } from 'mongoose';
import { afterEach, describe, expect, it } from 'vitest';
import { InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Step, type StepDoc } from '../../src/models/run.js';
import type { FakeReply } from '../fakes/fakeOpenAI.js';
import type { SlackCall } from '../fakes/fakeSlack.js';
import { sampleProposal } from '../fixtures.js';
import {
  CHANNEL,
  eventually,
  findButton,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';
import { sendEvent } from '../helpers/signedRequests.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

/** a → b → c: "Compare pricing" is the middle ticket. */
function chain(): Proposal {
  const base = sampleProposal({ discussion: { enabled: false, prompt: '' } });
  const [a, b, c] = base.tickets;
  return { ...base, tickets: [a!, { ...b!, dependsOn: ['competitors'] }, { ...c!, dependsOn: ['pricing'] }] };
}

const doc = async (id: string) => (await Orchestration.findById(id).lean<OrchestrationDoc>())!;
const asked = (harness: Harness, title: string) =>
  harness.llm.requests.filter((r) => r.user.includes(`# Your ticket: ${title}`)).length;
const syntheses = (harness: Harness) => harness.llm.requests.filter((r) => r.toolName === 'deliver_synthesis').length;
const threadCalls = (harness: Harness, ts: string): SlackCall[] =>
  harness.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
const completions = async (id: string) => (await doc(id)).transitions.filter((t) => t.to === 'completed').length;

async function completedRun(harness: Harness, plan: Proposal, responder?: (r: any) => FakeReply | undefined) {
  const crew = scriptedResponder(plan);
  harness.llm.responder = (req) => responder?.(req) ?? crew(req);
  const proposed = await harness.propose();
  await harness.click('orchestrate.approve', proposed.value, REQUESTER, proposed.ts);
  await harness.waitForEnd(proposed.orchestrationId, 'completed', 30_000);
  return proposed;
}

describe('re-run one step of a finished run', () => {
  it('re-runs the middle ticket, then what depends on it after the button, then the synthesis; nothing else', async () => {
    h = await startHarness();
    const { orchestrationId: o, ts } = await completedRun(h, chain());
    const pricing = (await Step.findOne({ orchestrationId: o, ticketKey: 'pricing' }).lean<StepDoc>())!;
    const post = threadCalls(h, ts).find((c) => findButton(c, 'run.rerun_step')?.value.includes(String(pricing._id)));
    expect(post, 'the result post has Re-run').toBeDefined();
    const value = findButton(post!, 'run.rerun_step')!.value;

    // Anyone else is refused; the requester gets the form.
    await h.click('run.rerun_step', value, 'U_STRANGER', ts);
    await h.click('run.rerun_step', value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.rerunStep,
    );
    expect(h.slack.callsTo('views.open')).toHaveLength(1);
    const feedback = {
      [InputIds.feedback.block]: {
        [InputIds.feedback.action]: { type: 'plain_text_input', value: 'Use list prices.' },
      },
    };
    expect((await h.submit(ViewIds.rerunStep, modal.args.view.private_metadata, feedback)).text).toBe('');
    await eventually(() => asked(h!, 'Compare pricing') === 2, 10_000, 'pricing asked again');
    const again = h.llm.requests.filter((r) => r.user.includes('# Your ticket: Compare pricing'))[1]!;
    expect(again.user).toContain('## Your previous result, sent back for rework\nResult of Compare pricing');
    expect(again.user).toContain('Use list prices.');
    expect((await doc(o)).status).toBe('executing');

    // The draft is out of date and the synthesis waits, until people choose.
    await eventually(
      async () => (await Step.findById(pricing._id).lean())?.status === 'succeeded',
      10_000,
      'pricing done again',
    );
    const notice = await eventually(
      () => threadCalls(h!, ts).find((c) => findButton(c, 'run.rerun_dependents')),
      5000,
      'the out-of-date notice',
    );
    expect(JSON.stringify(notice.args.blocks)).toContain('Out of date now:* Draft the positioning');
    await new Promise((r) => setTimeout(r, 400));
    expect(asked(h, 'Draft the positioning')).toBe(1);
    expect(syntheses(h)).toBe(1);

    await h.click('run.rerun_dependents', findButton(notice, 'run.rerun_dependents')!.value, REQUESTER, ts);
    await eventually(async () => (await completions(o)) === 2, 30_000, 'completed again');
    expect(asked(h, 'Map the competitors')).toBe(1);
    expect(asked(h, 'Compare pricing')).toBe(2);
    expect(asked(h, 'Draft the positioning')).toBe(2);
    expect(syntheses(h)).toBe(2);
    // A second click on the button changes nothing.
    const before = h.llm.requests.length;
    await h.click('run.rerun_dependents', findButton(notice, 'run.rerun_dependents')!.value, REQUESTER, ts);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.llm.requests.length).toBe(before);

    const final = await doc(o);
    expect(final.transitions.map((t) => t.to).slice(-3)).toEqual(['executing', 'synthesizing', 'completed']);
    expect(final.budget.spentUsd).toBeLessThanOrEqual(final.budget.maxUsd);
    const synthesis = (await Step.findOne({ orchestrationId: o, kind: 'synthesis' }).lean<StepDoc>())!;
    expect(synthesis.history.map((e) => [e.kind, e.output])).toEqual([['rerun', '# Positioning doc\nWe win offline.']]);
    // The new deliverable is the thread's latest, and the run ends twice in the thread.
    await eventually(
      () =>
        threadCalls(h!, ts).filter((c) => JSON.stringify(c.args.blocks).includes(':tada: *Completed*')).length === 2,
      10_000,
      'a second closing post',
    );
    const deliverables = threadCalls(h, ts).filter((c) => JSON.stringify(c.args.blocks).includes('The deliverable*'));
    expect(deliverables).toHaveLength(2);
  });
});

describe('follow up on the gaps', () => {
  it('starts a linked orchestration whose planning prompt carries the gaps and the parent deliverable', async () => {
    h = await startHarness();
    const { orchestrationId: o, ts } = await completedRun(h, chain(), (req) =>
      req.toolName === 'deliver_synthesis'
        ? {
            tool: 'deliver_synthesis',
            args: { deliverable: '# Doc\nOffline wins in the US.', gaps: ['No EU pricing'] },
          }
        : undefined,
    );
    const post = threadCalls(h, ts).find((c) => findButton(c, 'run.follow_up'))!;
    expect(JSON.stringify(post.args.blocks)).toContain('No EU pricing');
    await h.click('run.follow_up', findButton(post, 'run.follow_up')!.value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.followUp,
    );
    expect(JSON.stringify(modal.args.view)).toContain('No EU pricing');
    const planningBefore = h.llm.requests.filter((r) => r.toolName === 'propose_plan').length;
    const values = {
      [InputIds.gaps.block]: {
        [InputIds.gaps.action]: { type: 'plain_text_input', value: 'No EU pricing\nNo DACH rivals' },
      },
      [InputIds.budget.block]: { [InputIds.budget.action]: { type: 'plain_text_input', value: '1.25' } },
    };
    expect((await h.submit(ViewIds.followUp, modal.args.view.private_metadata, values)).text).toBe('');
    const child = await eventually(
      async () => Orchestration.findOne({ 'parent.orchestrationId': new Types.ObjectId(o) }).lean<OrchestrationDoc>(),
      5000,
      'the follow-up',
    );
    expect(child.budget.maxUsd).toBe(1.25);
    await eventually(
      () => h!.llm.requests.filter((r) => r.toolName === 'propose_plan').length > planningBefore,
      10_000,
      'the follow-up planned',
    );
    const planning = h.llm.requests.filter((r) => r.toolName === 'propose_plan').at(-1)!;
    expect(planning.user).toContain('- No EU pricing\n- No DACH rivals');
    expect(planning.user).toContain('Offline wins in the US.');
    expect((await doc(o)).followUps?.map((f) => String(f.orchestrationId))).toEqual([String(child._id)]);
    await eventually(
      () => threadCalls(h!, ts).some((c) => JSON.stringify(c.args.blocks).includes('started a follow-up on the gaps')),
      5000,
      'the parent thread links to it',
    );
    const childPlan = await eventually(
      () =>
        h!.slack
          .callsTo('chat.postMessage')
          .find((c) => !c.args.thread_ts && JSON.stringify(c.args.blocks).includes('Follows up on:')),
      10_000,
      'the follow-up plan links back',
    );
    expect(JSON.stringify(childPlan.args.blocks)).toContain(`<#${CHANNEL}>`);
  });
});

describe('a follow-up that cannot be planned', () => {
  it('says so in the parent’s thread, where it was asked for', async () => {
    h = await startHarness();
    const { orchestrationId: o, ts } = await completedRun(h, chain(), (req) => {
      if (req.toolName === 'deliver_synthesis')
        return { tool: 'deliver_synthesis', args: { deliverable: '# Doc', gaps: ['No EU pricing'] } };
      if (req.toolName === 'propose_plan' && req.user.includes('Close the gaps'))
        return { tool: 'propose_plan', args: { goal: 'x', roles: [] } };
      return undefined;
    });
    const post = threadCalls(h, ts).find((c) => findButton(c, 'run.follow_up'))!;
    await h.click('run.follow_up', findButton(post, 'run.follow_up')!.value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.followUp,
    );
    const values = {
      [InputIds.gaps.block]: { [InputIds.gaps.action]: { type: 'plain_text_input', value: 'No EU pricing' } },
      [InputIds.budget.block]: { [InputIds.budget.action]: { type: 'plain_text_input', value: '1.00' } },
    };
    expect((await h.submit(ViewIds.followUp, modal.args.view.private_metadata, values)).text).toBe('');
    await eventually(
      () => threadCalls(h!, ts).some((c) => String(c.args.text).includes('could not be planned')),
      10_000,
      'the failure in the parent thread',
    );
    const child = (await Orchestration.findOne({ 'parent.orchestrationId': new Types.ObjectId(o) }).lean())!;
    expect(child.status).toBe('failed');
  });
});

describe('ask the deliverable', () => {
  let mentions = 0;
  const mention = (harness: Harness, threadTs: string, text: string) =>
    sendEvent(harness.url, SIGNING_SECRET, {
      type: 'app_mention',
      user: REQUESTER,
      text,
      channel: CHANNEL,
      ts: `1700.${++mentions}`,
      thread_ts: threadTs,
    });

  it('answers a question in the thread from the run’s results, metered on the run; a question over its cap is refused with the numbers', async () => {
    h = await startHarness();
    const { orchestrationId: o, ts } = await completedRun(h, chain(), (req) =>
      req.user.includes('# A question from the team')
        ? { text: 'Otter and Tape.\n\n**Sources**\n- Map the competitors' }
        : undefined,
    );
    const spent = (await doc(o)).budget.spentUsd;
    expect((await mention(h, ts, '<@UBOT> Which rivals did we find?')).status).toBe(200);
    const answer = await eventually(
      () => threadCalls(h!, ts).find((c) => JSON.stringify(c.args.blocks).includes('Otter and Tape.')),
      10_000,
      'the answer',
    );
    expect(JSON.stringify(answer.args.blocks)).toContain('Sources');
    const request = h.llm.requests.find((r) => r.user.includes('# A question from the team'))!;
    expect(request.user).toContain('Which rivals did we find?');
    expect(request.user).toContain('## Map the competitors\nResult of Map the competitors');
    expect(request.user).not.toContain('<@UBOT>');
    expect((await doc(o)).budget.spentUsd).toBeGreaterThan(spent);
    expect((await doc(o)).status).toBe('completed');

    await h.stop();
    h = await startHarness({ ORCHESTRATE_QUESTION_BUDGET_USD: '0.000001' });
    const second = await completedRun(h, chain());
    await mention(h, second.ts, '<@UBOT> And the prices?');
    const refusal = await eventually(
      () => threadCalls(h!, second.ts).find((c) => JSON.stringify(c.args.blocks).includes('could cost up to')),
      10_000,
      'the refusal',
    );
    expect(JSON.stringify(refusal.args.blocks)).toContain('ORCHESTRATE_QUESTION_BUDGET_USD');
    expect(h.llm.requests.some((r) => r.user.includes('# A question from the team'))).toBe(false);
  });
});
