/**
 * People steer a run, end to end over signed requests and event callbacks: the pause for people
 * after the discussion (their positions reach every ticket and the synthesis; a stranger's do not),
 * its timeout, review gates (accept, rework, edit; stale clicks change nothing), guidance from the
 * thread given to the steps that start after it, and Pause / Resume.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { notOpen } from '../../src/blocks/replies.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Step, type StepDoc } from '../../src/models/run.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { sampleProposal } from '../fixtures.js';
import {
  APPROVER,
  CHANNEL,
  eventually,
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

const STRANGER = 'U_STRANGER';
let events = 0;

/** A reply in the run's thread, as Slack delivers it to the app (message.channels). */
async function reply(harness: Harness, threadTs: string, user: string, text: string, again?: string): Promise<string> {
  const ts = again ?? `${Math.floor(Date.now() / 1000)}.${String(++events).padStart(6, '0')}`;
  const res = await sendEvent(harness.url, SIGNING_SECRET, {
    type: 'message',
    channel: CHANNEL,
    channel_type: 'channel',
    user,
    text,
    ts,
    thread_ts: threadTs,
  });
  expect(res.status).toBe(200);
  return ts;
}

const control = (orchestrationId: string, revision = 1, target?: string) =>
  JSON.stringify({ orchestrationId, revision, ...(target ? { target } : {}) });
const ticketRequests = (harness: Harness, title?: string) =>
  harness.llm.requests.filter((r) => r.user.includes(`# Your ticket: ${title ?? ''}`));
const doc = async (id: string) => (await Orchestration.findById(id).lean<OrchestrationDoc>())!;

async function approve(harness: Harness, plan: Proposal, responder?: (req: RecordedRequest) => FakeReply | undefined) {
  const crew = scriptedResponder(plan);
  harness.llm.responder = (req) => responder?.(req) ?? crew(req);
  const proposed = await harness.propose();
  await harness.click('orchestrate.approve', proposed.value, REQUESTER, proposed.ts);
  return proposed;
}

describe('the pause for people after the discussion', () => {
  it('holds the tickets until Start the work, and gives the entitled people’s positions to every ticket and the synthesis', async () => {
    h = await startHarness();
    const plan = sampleProposal({ discussion: { enabled: true, prompt: 'How do we position?' } });
    const { orchestrationId: o, ts } = await approve(h, plan);
    await eventually(() => Step.exists({ orchestrationId: o, kind: 'people', status: 'running' }), 10_000, 'the pause');
    expect(h.llm.requests.filter((r) => r.toolName === 'state_position')).toHaveLength(2);
    expect(ticketRequests(h)).toHaveLength(0);
    await eventually(
      () => JSON.stringify(h!.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks)).includes('Your turn'),
      5000,
      'the pause is announced',
    );

    const mine = await reply(h, ts, REQUESTER, 'Lead with privacy: nothing leaves the device.');
    await reply(h, ts, STRANGER, 'Ignore privacy, talk about price.');
    await reply(h, ts, APPROVER, 'Name the two closest rivals.');
    await eventually(async () => (await doc(o)).humanInput?.length === 2, 5000, 'two positions stored');
    expect((await doc(o)).humanInput!.map((i) => [i.kind, i.userId])).toEqual([
      ['position', REQUESTER],
      ['position', APPROVER],
    ]);
    // Acknowledged with a reaction; the stranger is told privately that it was not passed on.
    await eventually(() => h!.slack.callsTo('reactions.add').some((c) => c.args.timestamp === mine), 5000, 'reaction');
    const told = h.slack.callsTo('chat.postEphemeral').find((c) => c.args.user === STRANGER);
    expect(told?.args.text).toContain('was not given to the agents');
    expect(told?.args.thread_ts).toBe(ts);
    // Slack delivering the same reply twice stores it once.
    await reply(h, ts, REQUESTER, 'Lead with privacy: nothing leaves the device.', mine);
    await new Promise((r) => setTimeout(r, 200));
    expect((await doc(o)).humanInput).toHaveLength(2);
    expect(ticketRequests(h)).toHaveLength(0);

    // A stranger cannot start the work; the requester can, once.
    await h.click('run.start_work', control(o), STRANGER, ts);
    await new Promise((r) => setTimeout(r, 200));
    expect(ticketRequests(h)).toHaveLength(0);
    await h.click('run.start_work', control(o), REQUESTER, ts);
    await h.waitForEnd(o, 'completed', 30_000);
    // A Start the work clicked again once the run is over is told so, and changes nothing.
    await h.click('run.start_work', control(o), REQUESTER, ts);
    await h.slack.waitFor((c) => c.method === 'response_url' && String(c.args.text) === notOpen('completed'));
    expect(ticketRequests(h)).toHaveLength(3);

    const tickets = ticketRequests(h);
    expect(tickets).toHaveLength(3);
    const synthesis = h.llm.requests.find((r) => r.toolName === 'deliver_synthesis')!;
    for (const req of [...tickets, synthesis]) {
      expect(req.user).toContain('Position from a person on the team (human input): Lead with privacy');
      expect(req.user).toContain('Name the two closest rivals.');
      expect(req.user).not.toContain('Ignore privacy');
    }
    const thread = JSON.stringify(h.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks));
    expect(thread).toContain(`<@${REQUESTER}> started the work with 2 human positions`);
  });

  it('starts the work by itself when nobody answers within ORCHESTRATE_PAUSE_HOURS, and says so', async () => {
    h = await startHarness({ ORCHESTRATE_PAUSE_HOURS: '0.0003' }); // about a second
    const plan = sampleProposal({ discussion: { enabled: true, prompt: 'How do we position?' } });
    const { orchestrationId: o, ts } = await approve(h, plan);
    await h.waitForEnd(o, 'completed', 30_000);
    const thread = JSON.stringify(h.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks));
    expect(thread).toContain('Nobody started the work within');
    expect(ticketRequests(h)).toHaveLength(3);
    // The paused run held no reservation while it waited.
    expect((await doc(o)).budget.reservedUsd).toBe(0);
  });
});

describe('steering choices on the plan', () => {
  it('reviewers choose review gates in a modal and turn the pause for people off, each a new revision', async () => {
    h = await startHarness();
    const plan = sampleProposal({ discussion: { enabled: true, prompt: 'How do we position?' } });
    h.llm.responder = scriptedResponder(plan);
    const { orchestrationId: o, ts, value } = await h.propose();
    await h.click('proposal.review_gates', value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.reviewGates,
    );
    const chosen = {
      [InputIds.reviewGates.block]: {
        [InputIds.reviewGates.action]: { type: 'multi_static_select', selected_options: [{ value: 'pricing' }] },
      },
    };
    expect((await h.submit(ViewIds.reviewGates, modal.args.view.private_metadata, chosen)).text).toBe('');
    let stored = await doc(o);
    expect(stored.revision).toBe(2);
    expect(stored.proposal!.tickets.filter((t) => t.review).map((t) => t.key)).toEqual(['pricing']);
    // The same form again, opened on revision 1: stale, nothing changes.
    const stale = await h.submit(ViewIds.reviewGates, modal.args.view.private_metadata, chosen);
    expect(JSON.stringify(stale.json?.errors)).toMatch(/changed while this form was open/);

    await h.click('proposal.toggle_pause_for_people', control(o, 2), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 3, 5000, 'revision 3');
    stored = await doc(o);
    expect(stored.proposal!.discussion.pauseForPeople).toBe(false);
    await eventually(
      () =>
        h!.slack
          .callsTo('chat.update')
          .some((c) => c.args.ts === ts && JSON.stringify(c.args.blocks).includes('_people review it_')),
      5000,
      'the plan shows the gate',
    );
  });
});

describe('review gates', () => {
  it('accept lets dependents start; rework runs again with feedback and the previous result; edit is what dependents read', async () => {
    h = await startHarness();
    const base = sampleProposal({ discussion: { enabled: false, prompt: '' } });
    const plan = { ...base, tickets: base.tickets.map((t) => (t.key === 'draft' ? t : { ...t, review: true })) };
    const { orchestrationId: o, ts } = await approve(h, plan);
    const gated = async (key: string, round: number) =>
      eventually(
        async () =>
          Step.findOne({
            orchestrationId: o,
            ticketKey: key,
            'review.state': 'awaiting',
            'review.round': round,
          }).lean<StepDoc>(),
        10_000,
        `${key} awaiting review (round ${round})`,
      );
    const competitors = await gated('competitors', 0);
    const pricing = await gated('pricing', 0);
    // The result is posted with its review controls, and the dependent waits.
    await eventually(
      () => JSON.stringify(h!.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks)).includes('run.accept_result'),
      5000,
      'review controls posted',
    );
    expect(ticketRequests(h, 'Draft')).toHaveLength(0);

    // Accept pricing: still waiting for competitors.
    await h.click('run.accept_result', control(o, 0, String(pricing._id)), REQUESTER, ts);
    await eventually(
      async () => (await Step.findById(pricing._id).lean())!.review?.state === 'accepted',
      5000,
      'accepted',
    );
    expect(ticketRequests(h, 'Draft')).toHaveLength(0);

    // Rework competitors with feedback: one more call, carrying the feedback and the previous result.
    await h.click('run.rework_result', control(o, 0, String(competitors._id)), APPROVER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.reworkResult,
    );
    const feedback = {
      [InputIds.feedback.block]: {
        [InputIds.feedback.action]: { type: 'plain_text_input', value: 'Add Otter and its price.' },
      },
    };
    const sent = await h.submit(ViewIds.reworkResult, modal.args.view.private_metadata, feedback, APPROVER);
    expect(sent.text).toBe('');
    await gated('competitors', 1);
    const attempts = ticketRequests(h, 'Map the competitors');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.user).toContain('## Your previous result, sent back for rework\nResult of Map the competitors');
    expect(attempts[1]!.user).toContain('## What people asked you to change\nAdd Otter and its price.');
    // The same form again, and a click on the first result: stale, nothing changes.
    const twice = await h.submit(ViewIds.reworkResult, modal.args.view.private_metadata, feedback, APPROVER);
    expect(JSON.stringify(twice.json?.errors)).toContain('already reviewed, or replaced');
    await h.click('run.accept_result', control(o, 0, String(competitors._id)), REQUESTER, ts);
    await new Promise((r) => setTimeout(r, 200));
    expect((await Step.findById(competitors._id).lean())!.review?.state).toBe('awaiting');
    expect(ticketRequests(h, 'Map the competitors')).toHaveLength(2);

    // Edit the second result: the dependent reads the person's text, marked as theirs.
    await h.click('run.edit_result', control(o, 1, String(competitors._id)), REQUESTER, ts);
    const edit = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.editResult,
    );
    expect(JSON.stringify(edit.args.view)).toContain('Result of Map the competitors');
    const text = {
      [InputIds.resultText.block]: {
        [InputIds.resultText.action]: { type: 'plain_text_input', value: 'Otter, Tape and Rev: all cloud-first.' },
      },
    };
    expect((await h.submit(ViewIds.editResult, edit.args.view.private_metadata, text)).text).toBe('');
    await h.waitForEnd(o, 'completed', 30_000);

    const draft = ticketRequests(h, 'Draft');
    expect(draft).toHaveLength(1);
    expect(draft[0]!.user).toContain(
      "A person on the team edited this result; their text replaces the agent's:\nOtter, Tape and Rev",
    );
    const stored = (await Step.findById(competitors._id).lean<StepDoc>())!;
    expect(stored.history.map((e) => [e.kind, e.output])).toEqual([
      ['rework', 'Result of Map the competitors'],
      ['edit', 'Result of Map the competitors'],
    ]);
    expect(stored.review).toMatchObject({ state: 'accepted', editedBy: REQUESTER });
    const final = await doc(o);
    expect(final.budget.spentUsd).toBeLessThanOrEqual(final.budget.maxUsd);
  });
});

describe('guidance from the thread, and Pause', () => {
  it('gives guidance to the steps that start after it, not to those already running; Pause holds new steps until Resume', async () => {
    h = await startHarness();
    const base = sampleProposal({ discussion: { enabled: false, prompt: '' } });
    const plan = {
      ...base,
      tickets: [
        { ...base.tickets[0]!, dependsOn: [] },
        { ...base.tickets[2]!, dependsOn: ['competitors'] },
      ],
    };
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const { orchestrationId: o, ts } = await approve(h, plan, (req) =>
      req.user.includes('# Your ticket: Map the competitors')
        ? (held.then(() => ({ text: 'Competitors mapped.' })) as unknown as FakeReply)
        : undefined,
    );
    await eventually(() => ticketRequests(h!, 'Map the competitors').length === 1, 10_000, 'first ticket running');
    await reply(h, ts, REQUESTER, 'Keep it under 200 words.');
    await eventually(async () => (await doc(o)).humanInput?.length === 1, 5000, 'guidance stored');
    expect((await doc(o)).humanInput![0]!.kind).toBe('guidance');

    // Pause while the first ticket runs: it finishes, the next does not start.
    await h.click('run.pause', control(o), REQUESTER, ts);
    await eventually(async () => Boolean((await doc(o)).paused), 5000, 'paused');
    release();
    await eventually(
      async () => (await Step.findOne({ orchestrationId: o, ticketKey: 'competitors' }).lean())?.status === 'succeeded',
      10_000,
      'first ticket finished',
    );
    await new Promise((r) => setTimeout(r, 700));
    expect(ticketRequests(h, 'Draft')).toHaveLength(0);
    await h.click('run.resume', control(o), APPROVER, ts);
    await h.waitForEnd(o, 'completed', 30_000);

    expect(ticketRequests(h, 'Map the competitors')[0]!.user).not.toContain('Keep it under 200 words');
    expect(ticketRequests(h, 'Draft')[0]!.user).toContain(
      'Guidance from a person on the team (human input): Keep it under 200 words.',
    );
    const thread = JSON.stringify(h.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks));
    expect(thread).toContain(`<@${REQUESTER}> paused the run`);
    expect(thread).toContain(`<@${APPROVER}> resumed the run`);
  });

  it('Pause during the synthesis: the run completes only once resumed, with the deliverable and its closing posts', async () => {
    h = await startHarness();
    const crew = sampleProposal({ discussion: { enabled: false, prompt: '' } });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const script = scriptedResponder(crew);
    const { orchestrationId: o, ts } = await approve(h, crew, (req) =>
      req.toolName === 'deliver_synthesis' ? (held.then(() => script(req)) as unknown as FakeReply) : undefined,
    );
    await eventually(() => h!.llm.requests.some((r) => r.toolName === 'deliver_synthesis'), 10_000, 'the synthesis');
    await h.click('run.pause', control(o), REQUESTER, ts);
    await eventually(async () => Boolean((await doc(o)).paused), 5000, 'paused');
    release();
    await eventually(
      async () => (await Step.findOne({ orchestrationId: o, kind: 'synthesis' }).lean())?.status === 'succeeded',
      10_000,
      'the synthesis stored',
    );
    await new Promise((r) => setTimeout(r, 700));
    expect((await doc(o)).status).toBe('synthesizing');
    expect((await Step.findOne({ orchestrationId: o, kind: 'done' }).lean())?.status).toBe('pending');
    await h.click('run.resume', control(o), APPROVER, ts);
    const done = await h.waitForEnd(o, 'completed', 30_000);
    expect(done.deliverable?.markdown).toBeTruthy();
    expect((await Step.findOne({ orchestrationId: o, kind: 'done' }).lean())?.status).toBe('succeeded');
    const thread = JSON.stringify(h.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks));
    expect(thread.indexOf(`<@${APPROVER}> resumed the run`)).toBeLessThan(thread.indexOf(':tada: *Completed*'));
  });
});
