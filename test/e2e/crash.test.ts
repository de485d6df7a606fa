/**
 * Crash safety across processes: two app processes share one database server (this test's
 * process). The first is killed with SIGKILL mid-run; the second takes the steps over once
 * their locks expire and finishes. No result is stored twice and no thread post appears twice.
 */
import { describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { SlackPost } from '../../src/models/slackPost.js';
import { startAppProcess, useProcessTestBed } from '../helpers/appProcess.js';
import { blocksText, eventually, findButton, REQUESTER, SIGNING_SECRET } from '../helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../helpers/signedRequests.js';

const bed = useProcessTestBed();

/** Proposes `goal` through the app at `port`, then approves it once `beforeApprove` has run. */
async function proposeAndApprove(
  port: number,
  goal: string,
  beforeApprove: () => void,
): Promise<{ id: string; ts: string }> {
  const url = `http://127.0.0.1:${port}/slack/events`;
  await sendSlashCommand(url, SIGNING_SECRET, {
    text: goal,
    user_id: REQUESTER,
    channel_id: 'C1',
    response_url: bed.slack.responseUrl(goal),
  });
  const proposal = await bed.slack.waitFor(
    (c) => c.method === 'chat.postMessage' && blocksText(c).includes(goal),
    20_000,
  );
  const value = findButton(proposal, 'orchestrate.approve')!.value;
  const id = JSON.parse(value).orchestrationId as string;
  const ts = await eventually(async () => (await Orchestration.findById(id).lean())?.messageTs, 5000, 'ts');
  beforeApprove();
  await sendInteraction(
    url,
    SIGNING_SECRET,
    blockActionPayload({
      userId: REQUESTER,
      channelId: 'C1',
      messageTs: ts,
      actionId: 'orchestrate.approve',
      value,
      responseUrl: bed.slack.responseUrl(`${goal} approve`),
    }),
  );
  return { id, ts };
}

describe('kill -9 mid-run', () => {
  it('a second process resumes the run; every step completes once and posts once', async () => {
    const first = await startAppProcess(bed.env());
    bed.apps.push(first);
    // Tickets take a while, so the kill lands while their calls are in flight.
    const { id, ts } = await proposeAndApprove(first.port, 'Crash-test goal', () => (bed.llm.delayMs = 1200));
    await eventually(
      () => bed.llm.requests.some((r) => r.user.includes('# Your ticket:') && r.endedAt === null),
      20_000,
      'a ticket in flight',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const inFlightAtKill = await Step.find({ orchestrationId: id, status: 'running' }).lean();
    expect(inFlightAtKill.length).toBeGreaterThan(0);

    bed.llm.delayMs = 50;
    const second = await startAppProcess(bed.env());
    bed.apps.push(second);
    await eventually(
      async () => (await Orchestration.findById(id).lean())?.status === 'completed',
      45_000,
      `completion; second app said:\n${second.output()}`,
    );
    await eventually(
      () =>
        bed.slack
          .callsTo('chat.postMessage')
          .some((c) => c.args.thread_ts === ts && blocksText(c).includes(':tada: *Completed*')),
      // These processes post at Slack's own pace, a message a second in the channel.
      30_000,
      'closing post',
    );

    const steps = await Step.find({ orchestrationId: id }).lean();
    expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length); // one record per step
    expect(steps.every((s) => s.status === 'succeeded')).toBe(true);
    // The steps cut off by the kill ran again (attempt 2) and were finished by the second process.
    for (const s of inFlightAtKill) {
      const now = steps.find((x) => String(x._id) === String(s._id))!;
      expect(
        now.attempts,
        JSON.stringify(steps.map((x) => [x.key, x.attempts, x.status, x.startedAt])),
      ).toBeGreaterThanOrEqual(2);
    }
    // Each ticket's result appears exactly once in the thread.
    const thread = bed.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
    for (const title of ['Map the competitors', 'Compare pricing', 'Draft the positioning']) {
      expect(thread.filter((c) => blocksText(c).includes(`Result of ${title}`))).toHaveLength(1);
    }
    expect(thread.filter((c) => blocksText(c).includes('formed'))).toHaveLength(1);
    expect(thread.filter((c) => blocksText(c).includes('We win offline'))).toHaveLength(1);
    // What the dead process had reserved was released (booked as spent), never left hanging.
    const doc = (await Orchestration.findById(id).lean())!;
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
    expect(doc.budget.holds).toEqual([]);
    // The dead process' lease among them: booked once the run completed, none left stored, and the
    // cost rollup shows it as what it was, not as planning.
    expect(doc.budget.leases ?? {}).toEqual({});
    expect(doc.budget.leftBehindUsd).toBeGreaterThan(0);
    await eventually(
      () => bed.slack.callsTo('chat.postMessage').some((c) => blocksText(c).includes('Cut off by a stopped process')),
      30_000,
      'the rollup with the cut-off calls',
    );
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);
  });

  it('SIGTERM drains: the steps running finish and are stored before the process exits', async () => {
    // Only this process may run the steps.
    for (const old of bed.apps.splice(0)) {
      old.child.kill('SIGKILL');
      await old.exited;
    }
    bed.llm.delayMs = 0;
    const app = await startAppProcess(bed.env());
    bed.apps.push(app);
    const { id } = await proposeAndApprove(app.port, 'Drain-test goal', () => (bed.llm.delayMs = 1500));
    await eventually(
      () =>
        bed.llm.requests.some(
          (r) => r.user.includes('Drain-test goal') && r.user.includes('# Your ticket:') && r.endedAt === null,
        ),
      20_000,
      'a ticket in flight',
    );
    const running = await Step.find({ orchestrationId: id, status: 'running' }).lean();
    expect(running.length).toBeGreaterThan(0);
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    const after = await Step.find({ _id: { $in: running.map((s) => s._id) } }).lean();
    expect(after.map((s) => s.status)).toEqual(running.map(() => 'succeeded'));
    expect(bed.llm.requests.filter((r) => r.user.includes('Drain-test goal')).every((r) => !r.aborted)).toBe(true);
  });

  it('posts queued when the process died are made by the next process, each once', async () => {
    for (const old of bed.apps.splice(0)) {
      old.child.kill('SIGKILL');
      await old.exited;
    }
    bed.llm.delayMs = 0;
    const first = await startAppProcess(bed.env());
    bed.apps.push(first);
    const goal = 'Queued-posts goal';
    const { id, ts } = await proposeAndApprove(first.port, goal, () => {
      // Slack keeps saying "later" to the thread's posts: they pile up in the outbox.
      bed.slack.failMatching('chat.postMessage', (args) => args.thread_ts === ts, { rateLimitedSeconds: 1 }, 10_000);
    });
    await eventually(async () => (await Orchestration.findById(id).lean())?.status === 'completed', 30_000, 'the run');
    // A result's post is stored once no hand-off is in flight, perhaps after the run completed; the
    // deliverable's comes after every result's, and before the closing posts.
    const queued = () => SlackPost.find({ orchestrationId: id, status: 'pending' }, { message: 1 }).lean();
    await eventually(
      async () => (await queued()).some((p) => JSON.stringify(p.message).includes('We win offline')),
      10_000,
      'the results stored',
    );
    expect((await queued()).length).toBeGreaterThan(5);
    first.child.kill('SIGKILL');
    await first.exited;
    bed.slack.reset();

    const second = await startAppProcess(bed.env());
    bed.apps.push(second);
    // Its closing posts too: the done step's job, cut off by the kill, is taken over and stores them.
    await eventually(
      async () =>
        (await SlackPost.countDocuments({ orchestrationId: id, status: 'pending' })) === 0 &&
        bed.slack.threadReplies('C1', ts).some((m) => m.text.startsWith('Cost rollup')),
      40_000,
      `the queued posts; second app said:\n${second.output()}`,
    );
    const texts = bed.slack.threadReplies('C1', ts).map((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`);
    for (const needle of [
      'formed',
      'Result of Map the competitors',
      'We win offline',
      ':tada: *Completed*',
      'Cost rollup',
    ]) {
      expect(
        texts.filter((t) => t.includes(needle)),
        needle,
      ).toHaveLength(1);
    }
  });
});
