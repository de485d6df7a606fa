/**
 * The whole loop over real parts: signed HTTP to the Bolt app, a fake Slack Web API, a fake
 * OpenAI-compatible server and the embedded database.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../src/models/agent.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Project } from '../../src/models/project.js';
import { Run, Step } from '../../src/models/run.js';
import { Team } from '../../src/models/team.js';
import { TicketModel } from '../../src/models/ticket.js';
import { sampleProposal } from '../fixtures.js';
import {
  APPROVER,
  blocksText,
  CHANNEL,
  eventually,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';
import { postSlack } from '../helpers/signedRequests.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  h.llm.responder = scriptedResponder();
  h.llm.delayMs = 0;
});

const statusOf = async (id: string) => (await Orchestration.findById(id, { status: 1 }).lean())?.status;
const ephemeralsTo = (userId: string) =>
  h.slack.calls
    .filter((c) => c.method === 'response_url' && String(c.args._responseId).includes(userId))
    .map((c) => String(c.args.text));
const threadPosts = (ts: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
const lastUpdateOf = (ts: string) =>
  h.slack
    .callsTo('chat.update')
    .filter((c) => c.args.ts === ts)
    .at(-1);

describe('/orchestrate → proposal → Approve → deliverable', () => {
  it('runs the whole loop and shows every stage in Slack', async () => {
    // Long enough that two tickets started together overlap even on a busy machine.
    h.llm.delayMs = 500;
    const res = await h.command(
      'Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc',
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(res.json.text).toMatch(/Planning…/);

    const proposal = await h.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && !c.args.thread_ts && blocksText(c).includes('Map the competitors'),
    );
    expect(proposal.args.channel).toBe(CHANNEL);
    const shown = blocksText(proposal);
    for (const expected of [
      'offline-first meeting recorder',
      'Market analyst',
      'new hire',
      'Compare pricing',
      'Draft the positioning',
      'waits for',
      'Discussion:* on',
      'Research:* off',
      '$1.50 max',
      'Approve',
      'Cancel',
      'Proposed',
    ]) {
      expect(shown).toContain(expected);
    }
    const value = JSON.parse(
      blocksText(proposal)
        .match(/"value":"(\{[^}]*\})"/)![1]!
        .replace(/\\"/g, '"'),
    );
    const id = value.orchestrationId as string;
    const ts = await eventually(async () => (await Orchestration.findById(id).lean())?.messageTs, 5000, 'message ts');

    // The CEO agent was asked about this goal, with the roster and the budget rules.
    const planning = h.llm.requests.find((r) => r.toolName === 'propose_plan')!;
    expect(planning.user).toContain('offline-first meeting recorder');
    expect(planning.system).toContain('At most 8 roles and 16 tickets');

    const approve = await h.click('orchestrate.approve', JSON.stringify(value), REQUESTER, ts);
    expect(approve.status).toBe(200);

    const completed = await h.waitForEnd(id, 'completed');
    // The deliverable is kept on the orchestration itself, apart from the step that wrote it.
    expect(completed.deliverable).toMatchObject({ markdown: '# Positioning doc\nWe win offline.', gaps: [] });
    await eventually(
      () => threadPosts(ts).some((c) => blocksText(c).includes('Cost rollup')),
      5000,
      'the closing posts',
    );
    // On Approve the message turned to approved → executing, in its blocks, with Cancel as its only button.
    const updates = h.slack.callsTo('chat.update').filter((c) => c.args.ts === ts);
    const approvedView = updates.find((c) => blocksText(c).includes('Approved → executing'))!;
    expect(approvedView).toBeDefined();
    expect(blocksText(approvedView)).toContain('approved by <@U_REQUESTER>');
    expect(blocksText(approvedView)).toContain('orchestrate.cancel');
    expect(blocksText(approvedView)).not.toContain('orchestrate.approve');
    expect(updates.some((c) => blocksText(c).includes('Synthesizing the deliverable'))).toBe(true);
    const thread = threadPosts(ts);
    const texts = thread.map((c) => blocksText(c));
    const indexOf = (needle: string) => texts.findIndex((t) => t.includes(needle));
    expect(indexOf('formed')).toBe(0);
    expect(indexOf('Position of Market analyst')).toBeGreaterThan(0);
    expect(indexOf('Position of Positioning writer')).toBeGreaterThan(0);
    expect(indexOf('Result of Map the competitors')).toBeGreaterThan(indexOf('Position of Market analyst'));
    expect(indexOf('Result of Draft the positioning')).toBeGreaterThan(indexOf('Result of Compare pricing'));
    expect(indexOf('We win offline')).toBeGreaterThan(indexOf('Result of Draft the positioning'));
    expect(indexOf(':tada: *Completed*')).toBe(texts.length - 2);
    expect(indexOf('Cost rollup')).toBe(texts.length - 1);
    expect(texts.every((t) => (t.match(/Result of Map the competitors/g) ?? []).length <= 1)).toBe(true);
    expect(texts.filter((t) => t.includes('Result of Map the competitors'))).toHaveLength(1);

    // The proposal message ends as Completed, with the time taken and the spend, and no buttons.
    const final = lastUpdateOf(ts)!;
    expect(blocksText(final)).toContain('Completed');
    expect(blocksText(final)).toMatch(/took \d+/);
    expect(blocksText(final)).toMatch(/spend \$0\.0\d+ of \$1\.50/);
    expect(blocksText(final)).not.toContain('orchestrate.approve');
    expect(blocksText(final)).not.toContain('orchestrate.cancel');

    // Independent tickets ran at the same time: each started before the other ended.
    const ticketReq = (title: string) => h.llm.requests.find((r) => r.user.includes(`# Your ticket: ${title}`))!;
    const a = ticketReq('Map the competitors');
    const b = ticketReq('Compare pricing');
    expect(a.startedAt).toBeLessThan(b.endedAt!);
    expect(b.startedAt).toBeLessThan(a.endedAt!);
    // The dependent ticket got its dependencies' results and the positions.
    const draft = ticketReq('Draft the positioning');
    expect(draft.startedAt).toBeGreaterThanOrEqual(Math.max(a.endedAt!, b.endedAt!));
    expect(draft.user).toContain('Result of Map the competitors');
    expect(draft.user).toContain('Result of Compare pricing');
    expect(draft.user).toContain('Position of Market analyst');
    expect(draft.user).toContain('offline-first meeting recorder');

    // Scaffolding: hires recorded, a team led by the synthesis role, a project with its tickets, a run.
    const doc = (await Orchestration.findById(id).lean())!;
    expect(doc.transitions.map((t) => t.to)).toEqual([
      'proposed',
      'approved',
      'executing',
      'synthesizing',
      'completed',
    ]);
    expect(doc.approvedBy).toBe(REQUESTER);
    expect(doc.approvedRevision).toBe(1);
    expect(doc.budget.spentUsd).toBeGreaterThan(0);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
    const hires = await Agent.find({ 'hiredFor.orchestrationId': doc._id }).lean();
    expect(hires.map((a) => a.name).sort()).toEqual(['Ada', 'Wren']);
    const team = (await Team.findOne({ orchestrationId: doc._id }).lean())!;
    expect(String(team.leadAgentId)).toBe(String(hires.find((a) => a.name === 'Wren')!._id));
    const project = (await Project.findOne({ orchestrationId: doc._id }).lean())!;
    expect(await TicketModel.countDocuments({ projectId: project._id })).toBe(3);
    const run = (await Run.findOne({ orchestrationId: doc._id }).lean())!;
    expect(run.pipeline.steps.map((s) => s.key)).toContain('ticket_draft');
    const steps = await Step.find({ runId: run._id }).lean();
    expect(steps.every((s) => s.status === 'succeeded')).toBe(true);
    const llmSteps = steps.filter((s) => s.kind !== 'done');
    expect(llmSteps.every((s) => s.tokens.input > 0 && s.costUsd > 0 && s.model === 'gpt-4o-mini')).toBe(true);
  });

  it('refuses a forged signature and creates nothing', async () => {
    const before = await Orchestration.countDocuments();
    const body = new URLSearchParams({
      command: '/orchestrate',
      text: 'Do evil',
      user_id: REQUESTER,
      channel_id: CHANNEL,
      response_url: h.slack.responseUrl('forged'),
    }).toString();
    const res = await postSlack(h.url, SIGNING_SECRET, body, 'application/x-www-form-urlencoded', {
      signature: 'v0=deadbeef',
    });
    expect(res.status).toBe(401);
    const stale = await postSlack(h.url, SIGNING_SECRET, body, 'application/x-www-form-urlencoded', {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(await Orchestration.countDocuments()).toBe(before);
  });

  it("takes the goal as typed: Slack's entities decoded once, shown escaped once, pinging no one", async () => {
    const before = h.slack.callsTo('chat.postMessage').length;
    // What Slack sends when someone types: Plan our R&D <offline> launch @channel
    await h.command('Plan our R&amp;D &lt;offline&gt; launch @channel');
    const posted = await h.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        !c.args.thread_ts &&
        h.slack.callsTo('chat.postMessage').indexOf(c) >= before,
    );
    const doc = (await Orchestration.findOne({ goal: 'Plan our R&D <offline> launch @channel' }).lean())!;
    expect(doc).not.toBeNull();
    expect(h.llm.requests.filter((r) => r.toolName === 'propose_plan').at(-1)!.user).toContain(
      'Goal: Plan our R&D <offline> launch @channel',
    );
    expect(blocksText(posted)).toContain('Plan our R&amp;D &lt;offline&gt; launch @\u200Bchannel');
    expect(blocksText(posted)).not.toContain('&amp;amp;');
    expect(posted.args.text).toContain('Plan our R&amp;D &lt;offline&gt; launch @\u200Bchannel');
  });

  it('answers an empty command with the usage', async () => {
    const res = await h.command('   ');
    expect(res.json.text).toMatch(/Usage: `\/orchestrate <goal>`/);
  });

  it('refuses Approve from someone who is neither the requester nor an approver', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, 'U_STRANGER', ts);
    await eventually(() => ephemeralsTo('U_STRANGER').some((t) => t.includes('Only <@U_REQUESTER>')), 5000, 'refusal');
    expect(await statusOf(orchestrationId)).toBe('proposed');
    // An approver from ORCHESTRATE_APPROVERS may approve.
    await h.click('orchestrate.approve', value, APPROVER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    expect((await Orchestration.findById(orchestrationId).lean())!.approvedBy).toBe(APPROVER);
  });

  it('approves once however many times Approve is clicked at once', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    const clicks = await Promise.all(
      Array.from({ length: 10 }, () => h.click('orchestrate.approve', value, REQUESTER, ts)),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    await h.waitForEnd(orchestrationId, 'completed');
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(await Run.countDocuments({ orchestrationId: doc._id })).toBe(1);
    expect(doc.transitions.filter((t) => t.to === 'approved')).toHaveLength(1);
    expect(threadPosts(ts).filter((c) => blocksText(c).includes('Result of Map the competitors'))).toHaveLength(1);
  });

  it('cancels a proposal before approval; later clicks say it is no longer open', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.cancel', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'cancelled');
    await eventually(() => blocksText(lastUpdateOf(ts)).includes('Cancelled'), 5000, 'redraw');
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(() => ephemeralsTo(REQUESTER).some((t) => t.includes('no longer open')), 5000, 'no longer open');
    expect(await Run.countDocuments({ orchestrationId })).toBe(0);
  });

  it('cancels a run in flight: calls are aborted and no LLM request starts after the cancel', async () => {
    h.llm.delayMs = 1500;
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(() => h.llm.requests.length >= 1, 10_000, 'a step to start');
    await h.click('orchestrate.cancel', value, REQUESTER, ts);
    // From the moment the cancel is stored, no call may be answered: what was in flight is cut off.
    await eventually(async () => (await statusOf(orchestrationId)) === 'cancelled', 10_000, 'the cancel to be stored');
    const seenAtCancel = h.llm.requests.length;
    await h.waitForEnd(orchestrationId, 'cancelled');
    await eventually(() => h.llm.requests.every((r) => r.endedAt !== null), 5000, 'in-flight calls to end');
    expect(h.llm.requests.some((r) => r.aborted)).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    // A request already on the wire at the cancel may still arrive, but only to be cut off; nothing new starts.
    expect(h.llm.requests.slice(seenAtCancel).filter((r) => !r.aborted)).toEqual([]);
    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.filter((s) => s.status === 'succeeded')).toEqual([]);
    await eventually(
      () => threadPosts(ts).some((c) => blocksText(c).includes('Cancelled') && blocksText(c).includes('spent')),
      5000,
      'cancel post',
    );
    expect(blocksText(lastUpdateOf(ts))).toContain('Cancelled');
    // A second cancel answers that it is over.
    await h.click('orchestrate.cancel', value, REQUESTER, ts);
    await eventually(() => ephemeralsTo(REQUESTER).some((t) => t.includes('already cancelled')), 5000, 'closed answer');
  });
});

describe('malformed LLM output', () => {
  it('sends the violations back once and posts the repaired plan', async () => {
    let calls = 0;
    const good = scriptedResponder();
    h.llm.responder = (req) => {
      if (req.toolName === 'propose_plan' && calls++ === 0) {
        const bad = sampleProposal();
        bad.tickets[0]!.dependsOn = ['draft'];
        return { tool: 'propose_plan', args: bad };
      }
      return good(req);
    };
    h.llm.reset();
    const { orchestrationId } = await h.propose();
    const asks = h.llm.requests.filter((r) => r.toolName === 'propose_plan');
    expect(asks).toHaveLength(2);
    expect(asks[1]!.user).toMatch(/rejected for these reasons:\n- tickets: dependency cycle/);
    expect(await statusOf(orchestrationId)).toBe('proposed');
  });

  it('gives the CEO agent room for a whole plan, and asks for a shorter one when it is cut off', async () => {
    let calls = 0;
    const good = scriptedResponder();
    h.llm.responder = (req) =>
      req.toolName === 'propose_plan' && calls++ === 0
        ? { tool: 'propose_plan', args: sampleProposal(), truncated: true }
        : good(req);
    h.llm.reset();
    const { orchestrationId } = await h.propose('A goal whose first plan is cut off');
    const asks = h.llm.requests.filter((r) => r.toolName === 'propose_plan');
    expect(asks.map((r) => r.body.max_tokens ?? r.body.max_completion_tokens)).toEqual([8192, 8192]);
    expect(asks[1]!.user).toContain(
      'the answer was cut off at the output limit (8192 tokens) before the propose_plan call was complete: make it shorter',
    );
    expect(await statusOf(orchestrationId)).toBe('proposed');
  });

  it('tells the user clearly when the repair fails too, and posts nothing', async () => {
    h.llm.responder = (req) =>
      req.toolName === 'propose_plan' ? { tool: 'propose_plan', args: { goal: 'x', roles: 'nope' } } : { text: 'x' };
    const before = h.slack.callsTo('chat.postMessage').length;
    const res = await h.command('Plan something impossible');
    expect(res.status).toBe(200);
    await eventually(
      () => ephemeralsTo('cmd-').some((t) => t.includes('did not hold together')),
      10_000,
      'planning failure message',
    );
    const message = ephemeralsTo('cmd-').find((t) => t.includes('did not hold together'))!;
    expect(message).toContain('roles');
    expect(message).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(h.slack.callsTo('chat.postMessage').length).toBe(before);
    const doc = await Orchestration.findOne({ goal: 'Plan something impossible' }).lean();
    expect(doc?.status).toBe('failed');
  });
});

describe('failing tickets', () => {
  it('retries a transient failure, lets a failed ticket not stop the others, and names it as a gap', async () => {
    const good = scriptedResponder();
    let pricingCalls = 0;
    let competitorCalls = 0;
    h.llm.responder = (req) => {
      if (req.user.includes('# Your ticket: Compare pricing')) {
        pricingCalls++;
        return { status: 400, error: { message: 'context too long', type: 'invalid_request_error' } };
      }
      if (req.user.includes('# Your ticket: Map the competitors') && competitorCalls++ === 0) {
        return { status: 503, error: { message: 'overloaded', type: 'server_error' } };
      }
      // The model names as many gaps as it may, at full length: the failed ticket's comes on top.
      if (req.toolName === 'deliver_synthesis') {
        return {
          tool: 'deliver_synthesis',
          args: {
            deliverable: '# Positioning doc\nWe win offline.',
            gaps: Array.from({ length: 30 }, (_, i) => `Gap ${i} `.padEnd(1000, 'x')),
          },
        };
      }
      return good(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    expect(pricingCalls).toBe(1); // a 400 is not worth retrying
    expect(competitorCalls).toBe(2); // a 503 is
    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.find((s) => s.key === 'ticket_pricing')).toMatchObject({ status: 'failed' });
    expect(steps.find((s) => s.key === 'ticket_draft')).toMatchObject({ status: 'succeeded' });
    const draftAsk = h.llm.requests.find((r) => r.user.includes('# Your ticket: Draft the positioning'))!;
    expect(draftAsk.user).toContain('This ticket failed; its result is not available');
    const synthesisAsk = h.llm.requests.filter((r) => r.toolName === 'deliver_synthesis').at(-1)!;
    expect(synthesisAsk.user).toMatch(/### Compare pricing \(Market analyst\)\nFAILED/);
    const thread = threadPosts(ts).map((c) => blocksText(c));
    expect(thread.some((t) => t.includes('Compare pricing') && t.includes('failed'))).toBe(true);
    const deliverable = thread.find((t) => t.includes('We win offline'))!;
    expect(deliverable).toContain('Known gaps');
    expect(deliverable).toContain('\\"Compare pricing\\" failed');
    // 31 long gaps are more than one message holds: the rest follow in parts, the last one included.
    expect(thread.some((t) => t.includes('Gap 29 '))).toBe(true);
  });

  it('keeps a ticket result cut off at the output limit, and says so where it is posted', async () => {
    const good = scriptedResponder();
    h.llm.responder = (req) =>
      req.user.includes('# Your ticket: Compare pricing')
        ? { text: 'Pricing: the long analysis that ran out of room', truncated: true }
        : good(req);
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    const posted = threadPosts(ts)
      .map((c) => blocksText(c))
      .find((t) => t.includes('Compare pricing') && t.includes('Pricing: the long'))!;
    expect(posted).toContain('Cut off at the output limit of 2048 tokens (LLM_MAX_OUTPUT_TOKENS).');
    // The next ticket is told too, through the stored result.
    expect(
      h.llm.requests.filter((r) => r.user.includes('# Your ticket: Draft the positioning')).at(-1)!.user,
    ).toContain('Cut off at the output limit');
  });

  it('fails the orchestration when every sub-ticket fails, and says why', async () => {
    const good = scriptedResponder();
    h.llm.responder = (req) =>
      req.user.includes('# Your ticket:') ? { status: 400, error: { message: 'bad request' } } : good(req);
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'failed');
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.statusReason).toMatch(/Every sub-ticket failed/);
    expect(
      h.llm.requests.some((r) => r.toolName === 'deliver_synthesis' && r.startedAt > doc.approvedAt!.getTime()),
    ).toBe(false);
    await eventually(
      () => blocksText(lastUpdateOf(ts)).includes('Every sub-ticket failed'),
      5000,
      'reason on the message',
    );
    expect(
      threadPosts(ts).some(
        (c) => blocksText(c).includes('Failed') && blocksText(c).includes('Every sub-ticket failed'),
      ),
    ).toBe(true);
  });
});

describe('operations', () => {
  it('answers /healthz once ready', async () => {
    const res = await fetch(h.url.replace('/slack/events', '/healthz'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('rides out a Slack 429: the proposal is posted once, after the Retry-After', async () => {
    h.slack.failNext('chat.postMessage', { rateLimitedSeconds: 1 });
    const before = h.slack.callsTo('chat.postMessage').length;
    const { orchestrationId } = await h.propose('A goal posted through a rate limit');
    const posts = h.slack.callsTo('chat.postMessage').slice(before);
    expect(posts.map((c) => c.response?.ok)).toEqual([false, true]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(900);
    expect(await statusOf(orchestrationId)).toBe('proposed');
  });

  it('loses no thread post when Slack fails for a while: the job is retried and posts once', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal run through a Slack outage');
    // The team post fails first; then, once it is in, one of the positions.
    h.slack.failNext('chat.postMessage', { error: 'internal_error' });
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(
      () => threadPosts(ts).some((c) => c.response?.ok && blocksText(c).includes('formed')),
      15_000,
      'the team post, retried',
    );
    h.slack.failNext('chat.postMessage', { error: 'service_unavailable' });
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    // A post that failed is made when its job is retried, even if the run has ended meanwhile.
    const delivered = await eventually(
      () => {
        const ok = threadPosts(ts)
          .filter((c) => c.response?.ok)
          .map((c) => blocksText(c));
        return ok.some((t) => t.includes('Position of Market analyst')) &&
          ok.some((t) => t.includes('Position of Positioning writer'))
          ? ok
          : null;
      },
      15_000,
      'the failed position post, retried',
    );
    expect(threadPosts(ts).filter((c) => !c.response?.ok)).toHaveLength(2);
    for (const needle of [
      'formed',
      'Position of Market analyst',
      'Position of Positioning writer',
      'Result of Map the competitors',
      'Result of Compare pricing',
      'Result of Draft the positioning',
      'We win offline',
    ]) {
      expect(
        delivered.filter((t) => t.includes(needle)),
        needle,
      ).toHaveLength(1);
    }
  });

  it('goes on without a thread post that Slack refused through every retry: the rest of the run is not lost', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal with one post Slack never takes');
    const isAdaPosition = (args: Record<string, any>) =>
      String(args.text).startsWith('Ada (Market analyst) states a position');
    h.slack.failMatching('chat.postMessage', isAdaPosition, { error: 'service_unavailable' }, 50);
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    // The job went on trying (the first attempt and eight retries) while the rest of the run went on.
    const attempts = await eventually(
      () => {
        const made = threadPosts(ts).filter((c) => isAdaPosition(c.args));
        return made.length >= 9 ? made : null;
      },
      20_000,
      'every attempt at the refused post',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(threadPosts(ts).filter((c) => isAdaPosition(c.args))).toHaveLength(9);
    expect(attempts.every((c) => !c.response?.ok)).toBe(true);
    const delivered = threadPosts(ts)
      .filter((c) => c.response?.ok)
      .map((c) => blocksText(c));
    for (const needle of [
      'formed',
      'Position of Positioning writer',
      'Result of Map the competitors',
      'Result of Draft the positioning',
      'We win offline',
      ':tada: *Completed*',
    ]) {
      expect(
        delivered.filter((t) => t.includes(needle)),
        needle,
      ).toHaveLength(1);
    }
    h.slack.reset();
  });

  it('ends an orchestration in words when a job that blocks it fails through every retry', async () => {
    const goal = 'A goal whose proposal Slack never takes';
    h.slack.failMatching(
      'chat.postMessage',
      (args) => !args.thread_ts && String(args.text).includes(goal),
      { error: 'service_unavailable' },
      50,
    );
    await h.command(goal);
    const doc = await eventually(
      async () => {
        const d = await Orchestration.findOne({ goal }).lean();
        return d?.status === 'failed' ? d : null;
      },
      20_000,
      'the orchestration to be failed',
    );
    expect(doc.statusReason).toBe(
      'Orchestrate could not go on after several attempts (Slack is unavailable: service_unavailable). What was done is kept.',
    );
    await eventually(
      () =>
        h.slack.calls.some(
          (c) =>
            c.method === 'response_url' &&
            String(c.args.text).includes('Orchestrate could not go on after several attempts') &&
            String(c.args.text).includes('Nothing was proposed'),
        ),
      5000,
      'the requester told',
    );
    h.slack.reset();
  });

  it('tells the requester when it cannot post in the channel, instead of failing silently', async () => {
    h.slack.failNext('chat.postMessage', { error: 'not_in_channel' });
    await h.command('A goal for a channel the bot is not in');
    await eventually(
      () =>
        h.slack.calls.some(
          (c) =>
            c.method === 'response_url' &&
            String(c.args.text).includes("I can't post in this channel (not_in_channel)"),
        ),
      10_000,
      'explanation',
    );
    const doc = await Orchestration.findOne({ goal: 'A goal for a channel the bot is not in' }).lean();
    expect(doc?.status).toBe('failed');
  });

  it('answers a click and a form even when its database does not', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    const down = vi
      .spyOn(Orchestration, 'findById')
      .mockImplementation((() => ({ lean: () => Promise.reject(new Error('connection reset')) })) as never);
    try {
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await eventually(
        () => ephemeralsTo(REQUESTER).some((t) => t.includes('Orchestrate could not do that')),
        5000,
        'the answer to the click',
      );
      const form = await h.submit('proposal.set_budget.modal', value, {
        budget_max: { budget_max_input: { value: '1.00' } },
      });
      expect(form.json).toMatchObject({
        response_action: 'errors',
        errors: { budget_max: expect.stringContaining('could not save this') },
      });
    } finally {
      down.mockRestore();
    }
    expect(await statusOf(orchestrationId)).toBe('proposed');
  });

  it('never writes a secret to the log', () => {
    expect(h.logs.length).toBeGreaterThan(0);
    const all = h.logs.join('\n');
    for (const secret of ['xoxb-test-token', 'sk-test-key-not-real', 'test-signing-secret'])
      expect(all).not.toContain(secret);
  });
});
