/**
 * Watching a run, as a user in Slack sees it: the run card updated in place (and its fallback
 * where Slack refuses plan blocks), long results and the deliverable kept whole, the feedback
 * buttons, the timeline picture, the App Home, and the operators' dashboard.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Workspace } from '../../src/models/workspace.js';
import type { StoredMessage } from '../fakes/fakeSlack.js';
import { sampleProposal } from '../fixtures.js';
import {
  CHANNEL,
  eventually,
  findButton,
  type Harness,
  REQUESTER,
  type ScriptedReply,
  SIGNING_SECRET,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';
import { blockActionPayload, openHomeTab, sendInteraction } from '../helpers/signedRequests.js';

const ADMIN_USER = 'ops';
const ADMIN_PASSWORD = 'correct-horse-battery-staple';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ ADMIN_USER, ADMIN_PASSWORD });
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  h.llm.responder = scriptedResponder();
  h.llm.delayMs = 0;
});

type Responder = Harness['llm']['responder'];
type Request = Parameters<ReturnType<typeof scriptedResponder>>[0];

/** The steps the sample plan runs (research off, discussion on): a position per role, the tickets, the synthesis. */
const SAMPLE_STEPS = (() => {
  const p = sampleProposal();
  const synthesis = 1;
  return (p.research.enabled ? 1 : 0) + (p.discussion.enabled ? p.roles.length : 0) + p.tickets.length + synthesis;
})();

/** `length` characters of prose with a distinct marker every `every` characters, paragraphs between them. */
function markedText(tag: string, length: number, every = 1000): { text: string; markers: string[] } {
  const markers: string[] = [];
  let text = '';
  for (let i = 0; text.length < length; i++) {
    const marker = `${tag}${String(i).padStart(2, '0')}Q`;
    markers.push(marker);
    const head = `${marker} `;
    const filler = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(every / 27));
    const paragraph = `${head}${filler.slice(0, every - head.length - 2).trimEnd()}`.padEnd(every - 2, '.');
    text += `${paragraph}\n\n`;
  }
  text = text.slice(0, length);
  // Only the markers the cut kept.
  return { text, markers: markers.filter((m) => text.includes(m)) };
}

/** The default crew, with some answers replaced. */
function withAnswers(override: (req: Request) => ScriptedReply | null): Responder {
  const base = scriptedResponder();
  return (req) => override(req) ?? base(req);
}

/** Proposes, approves and waits until the run has completed and its closing posts are in. */
async function completedRun(goal?: string) {
  const { ts, value, orchestrationId } = await h.propose(goal);
  const res = await h.click('orchestrate.approve', value, REQUESTER, ts);
  expect(res.status).toBe(200);
  const doc = await h.waitForEnd(orchestrationId, 'completed');
  return { ts, orchestrationId, doc };
}

const keyOf = (m: { metadata?: { event_payload?: Record<string, any> } }) =>
  String(m.metadata?.event_payload?.key ?? '');
const postsWithKey = (key: string) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.metadata?.event_payload?.key === key);
const shown = (m: StoredMessage | undefined) => `${m?.text ?? ''}\n${JSON.stringify(m?.blocks ?? [])}`;
const threadText = (ts: string) => h.slack.threadReplies(CHANNEL, ts).map(shown).join('\n');
const invalidBlocksAnswers = () => h.slack.calls.filter((c) => c.response?.error === 'invalid_blocks').length;

/** The run card's stored state once it shows the run completed. */
async function finalCard(ts: string, orchestrationId: string): Promise<StoredMessage> {
  const first = h.slack.threadReplies(CHANNEL, ts)[0];
  expect(first && keyOf(first)).toBe(`${orchestrationId}:runcard`);
  return eventually(
    () => {
      const card = h.slack.message(CHANNEL, first!.ts);
      return card && JSON.stringify(card.blocks).includes('Completed') ? card : null;
    },
    5000,
    'the run card to show Completed',
  );
}

describe('the run card', () => {
  it('is the first reply in the thread, posted once and updated in place to a plan of completed task cards', async () => {
    const { ts, orchestrationId } = await completedRun();
    const card = await finalCard(ts, orchestrationId);

    const plans = (card.blocks ?? []).filter((b) => b.type === 'plan');
    expect(plans).toHaveLength(1);
    const tasks = plans[0].tasks as { type: string; title: string; status: string }[];
    expect(tasks).toHaveLength(SAMPLE_STEPS);
    expect(tasks.every((t) => t.type === 'task_card')).toBe(true);
    expect(tasks.map((t) => t.status)).toEqual(Array(SAMPLE_STEPS).fill('complete'));
    for (const title of ['Map the competitors', 'Compare pricing', 'Draft the positioning', 'Synthesis']) {
      expect(tasks.map((t) => t.title)).toContain(title);
    }
    const statusLine = (card.blocks ?? []).find(
      (b) => b.type === 'section' && String(b.text?.text).includes('steps done'),
    );
    expect(statusLine?.text.text).toContain('Completed');
    expect(statusLine?.text.text).toContain(`${SAMPLE_STEPS}/${SAMPLE_STEPS} steps done`);

    // Posted once, then only ever updated in place.
    const posts = postsWithKey(`${orchestrationId}:runcard`);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.response?.ts).toBe(card.ts);
    const updates = h.slack.callsTo('chat.update').filter((c) => c.args.ts === card.ts);
    expect(updates.length).toBeGreaterThan(0);
    expect(h.slack.threadReplies(CHANNEL, ts).filter((m) => keyOf(m).endsWith(':runcard'))).toHaveLength(1);
  });

  it('falls back to sections where Slack refuses plan blocks, and remembers that for the next run', async () => {
    h.slack.refuseBlockTypes(['plan', 'task_card']);
    try {
      const refusedBefore = invalidBlocksAnswers();
      const first = await completedRun();
      expect(invalidBlocksAnswers()).toBeGreaterThan(refusedBefore);
      const card = await finalCard(first.ts, first.orchestrationId);
      expect((card.blocks ?? []).some((b) => b.type === 'plan' || b.type === 'task_card')).toBe(false);
      const sections = JSON.stringify((card.blocks ?? []).filter((b) => b.type === 'section'));
      for (const title of ['Map the competitors', 'Compare pricing', 'Draft the positioning', 'Synthesis']) {
        expect(sections).toContain(title);
      }
      expect(sections.match(/_done_/g)).toHaveLength(SAMPLE_STEPS);

      const refusedAfterFirst = invalidBlocksAnswers();
      const second = await completedRun();
      expect(invalidBlocksAnswers()).toBe(refusedAfterFirst);
      const posts = postsWithKey(`${second.orchestrationId}:runcard`);
      expect(posts).toHaveLength(1);
      expect(posts[0]!.response?.ok).toBe(true);
      expect((posts[0]!.args.blocks as any[]).some((b) => b.type === 'plan')).toBe(false);
      const secondCard = await finalCard(second.ts, second.orchestrationId);
      expect(JSON.stringify(secondCard.blocks)).toContain('Draft the positioning');
    } finally {
      h.slack.reset();
      await Workspace.deleteMany({});
    }
  });
});

describe('long results', () => {
  it('posts a 10,000-character position and a 10,000-character ticket result whole, across several messages', async () => {
    const position = markedText('POSMK', 10_000);
    const risks = Array.from({ length: 10 }, (_, i) => markedText(`RSK${i}MK`, 480, 480));
    const result = markedText('RESMK', 10_000);
    h.llm.responder = withAnswers((req) => {
      if (req.toolName === 'state_position' && req.user.includes('As Market analyst')) {
        return {
          tool: 'state_position',
          args: { position: position.text, risks: risks.map((r) => r.text.trim()) },
        };
      }
      if (req.user.includes('# Your ticket: Compare pricing')) return { text: result.text };
      return null;
    });
    const { ts } = await completedRun();
    const markers = [...position.markers, ...risks.flatMap((r) => r.markers), ...result.markers];
    const thread = threadText(ts);
    for (const marker of markers) expect(thread).toContain(marker);
    const holding = (marker: string) => h.slack.threadReplies(CHANNEL, ts).filter((m) => shown(m).includes(marker));
    // Each is split across messages, every marker in exactly one of them.
    const positionMarkers = [...position.markers, ...risks.flatMap((r) => r.markers)];
    expect(new Set(positionMarkers.flatMap((m) => holding(m).map((x) => x.ts))).size).toBeGreaterThan(1);
    expect(new Set(result.markers.flatMap((m) => holding(m).map((x) => x.ts))).size).toBeGreaterThan(1);
    for (const marker of markers) expect(holding(marker)).toHaveLength(1);
  });
});

describe('the deliverable', () => {
  const deliverable = markedText('DELMK', 30_000);
  const longDeliverable = () =>
    withAnswers((req) =>
      req.toolName === 'deliver_synthesis'
        ? { tool: 'deliver_synthesis', args: { deliverable: deliverable.text, gaps: [] } }
        : null,
    );

  it('arrives whole in the thread, broadcast, with the feedback buttons last, and kept whole as a canvas', async () => {
    h.llm.responder = longDeliverable();
    const { ts, orchestrationId, doc } = await completedRun();
    const parts = h.slack
      .threadReplies(CHANNEL, ts)
      .filter((m) => keyOf(m).startsWith(`${orchestrationId}:step:${String(doc.deliverable!.stepId)}:`));
    expect(parts.length).toBeGreaterThan(1);
    const partsText = parts.map(shown).join('\n');
    for (const marker of deliverable.markers) expect(partsText).toContain(marker);
    expect(parts[0]!.reply_broadcast).toBe(true);
    const broadcastCall = h.slack.callsTo('chat.postMessage').find((c) => c.response?.ts === parts[0]!.ts);
    expect(String(broadcastCall?.args.reply_broadcast)).toBe('true');

    const feedbackIn = (m: StoredMessage) =>
      (m.blocks ?? [])
        .filter((b) => b.type === 'context_actions')
        .flatMap((b) => b.elements)
        .find((e: any) => e.type === 'feedback_buttons' && e.action_id === 'run.rate_deliverable');
    const buttons = feedbackIn(parts.at(-1)!);
    expect(buttons?.positive_button.value).toBe(`positive:${orchestrationId}`);
    expect(buttons?.negative_button.value).toBe(`negative:${orchestrationId}`);
    expect(parts.slice(0, -1).some((m) => feedbackIn(m))).toBe(false);

    const kept = await eventually(
      async () => (await Orchestration.findById(orchestrationId).lean())?.deliverable?.keptAs,
      5000,
      'the deliverable kept',
    );
    expect(kept.kind).toBe('canvas');
    const canvas = h.slack.canvas(kept.id!);
    expect(canvas?.channelId).toBe(CHANNEL);
    for (const marker of deliverable.markers) expect(canvas?.markdown).toContain(marker);
    await eventually(() => threadText(ts).includes(kept.id!), 5000, 'a thread post linking to the canvas');
  });

  it('is uploaded whole as deliverable.md in the thread where canvases are refused', async () => {
    h.llm.responder = longDeliverable();
    h.slack.refuseCanvases();
    try {
      const { ts, orchestrationId } = await completedRun();
      const file = await eventually(
        () => h.slack.uploadedFiles().find((f) => f.filename === 'deliverable.md' && f.threadTs === ts && f.completed),
        5000,
        'deliverable.md in the thread',
      );
      expect(file.channelId).toBe(CHANNEL);
      const text = file.bytes.toString('utf8');
      for (const marker of deliverable.markers) expect(text).toContain(marker);
      expect((await Orchestration.findById(orchestrationId).lean())?.deliverable?.keptAs?.kind).toBe('file');
      const sharing = h.slack.threadReplies(CHANNEL, ts).filter((m) => m.files?.includes(file.id));
      expect(sharing).toHaveLength(1);
    } finally {
      h.slack.refuseCanvases(null);
    }
  });
});

describe('the deliverable, streamed as it is written', () => {
  const deliverable = markedText('STRMK', 3000, 300);
  const answers = () =>
    withAnswers((req) =>
      req.toolName === 'deliver_synthesis'
        ? { tool: 'deliver_synthesis', args: { deliverable: deliverable.text, gaps: [] } }
        : null,
    );

  it('streams into the thread to the requester, then the draft becomes a note and the final deliverable follows', async () => {
    h.llm.responder = answers();
    // The synthesis takes a second or so to write, as a model's does: long enough to append to.
    h.llm.streamPieceDelayMs = 100;
    // Slack is slow to stop the stream: the deliverable's post must still wait for the draft to close.
    h.slack.delayNext('chat.stopStream', 600);
    const before = h.slack.callsTo('chat.appendStream').length;
    const { ts } = await completedRun().finally(() => {
      h.llm.streamPieceDelayMs = 0;
    });
    const start = h.slack.callsTo('chat.startStream').find((c) => c.args.thread_ts === ts);
    expect(start?.args).toMatchObject({ channel: CHANNEL, recipient_user_id: REQUESTER, recipient_team_id: 'T1' });
    expect(h.slack.callsTo('chat.appendStream').length - before).toBeGreaterThan(0);
    // Every piece of the text reached the stream before it stopped.
    const streamed = [start, ...h.slack.callsTo('chat.appendStream').filter((c) => c.args.ts === start?.response?.ts)]
      .flatMap((c) => c?.args.chunks ?? [])
      .map((chunk: any) => chunk.text ?? '')
      .join('');
    for (const marker of deliverable.markers) expect(streamed).toContain(marker);
    expect(h.slack.callsTo('chat.stopStream').some((c) => c.args.ts === start?.response?.ts)).toBe(true);
    const draft = h.slack.message(CHANNEL, start!.response!.ts);
    expect(shown(draft)).toContain('written here live');
    // The final deliverable is its own post, after the draft, and sent once the draft was closed.
    const finalPost = h.slack.threadReplies(CHANNEL, ts).find((m) => shown(m).includes(':page_facing_up:'));
    expect(Number(finalPost?.ts)).toBeGreaterThan(Number(start!.response!.ts));
    const closedAt = h.slack.calls.findIndex(
      (c) => c.method === 'chat.update' && c.args.ts === start!.response!.ts && String(c.args.text).includes('live'),
    );
    const postedAt = h.slack.calls.findIndex(
      (c) => c.method === 'chat.postMessage' && c.response?.ts === finalPost?.ts,
    );
    expect(closedAt).toBeGreaterThan(-1);
    expect(postedAt).toBeGreaterThan(closedAt);
    for (const marker of deliverable.markers) expect(shown(finalPost)).toContain(marker);
  });

  it('is posted as usual where Slack refuses to stream', async () => {
    h.llm.responder = answers();
    h.slack.refuseStreaming('not_allowed');
    try {
      const { ts } = await completedRun();
      expect(h.slack.callsTo('chat.startStream').some((c) => c.args.thread_ts === ts && c.response?.ok)).toBe(false);
      const finalPost = h.slack.threadReplies(CHANNEL, ts).find((m) => shown(m).includes(':page_facing_up:'));
      for (const marker of deliverable.markers) expect(shown(finalPost)).toContain(marker);
    } finally {
      h.slack.refuseStreaming(null);
    }
  });
});

describe('feedback on the deliverable', () => {
  let responses = 0;
  const rate = async (value: string, userId = 'U_RATER') => {
    const responseId = `rate-${++responses}`;
    const payload = blockActionPayload({
      userId,
      channelId: CHANNEL,
      messageTs: '1.0',
      actionId: 'run.rate_deliverable',
      value,
      responseUrl: h.slack.responseUrl(responseId),
    }) as { actions: Record<string, unknown>[] };
    payload.actions = [
      { type: 'feedback_buttons', action_id: 'run.rate_deliverable', block_id: 'b', value, action_ts: '1.0' },
    ];
    const res = await sendInteraction(h.url, SIGNING_SECRET, payload);
    expect(res.status).toBe(200);
    const answer = await h.slack.waitFor((c) => c.method === 'response_url' && c.args._responseId === responseId, 5000);
    return answer.args;
  };

  it('stores a positive rating with who gave it, answers privately, and ignores malformed values', async () => {
    const { orchestrationId } = await completedRun();
    for (const bad of ['positive', `thumbs:${orchestrationId}`, 'positive:not-an-id', '']) {
      const answer = await rate(bad);
      expect(answer.response_type).toBe('ephemeral');
      expect(answer.text).toMatch(/Nothing was stored/);
    }
    expect((await Orchestration.findById(orchestrationId).lean())?.feedback).toBeNull();

    const answer = await rate(`positive:${orchestrationId}`);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.replace_original).toBe(false);
    expect(answer.text).toMatch(/useful/);
    expect(answer.text).not.toMatch(/Nothing was stored/);
    const stored = (await Orchestration.findById(orchestrationId).lean())?.feedback;
    expect(stored).toMatchObject({ rating: 'positive', by: 'U_RATER' });
    expect(stored?.at).toBeInstanceOf(Date);
  });
});

describe('the timeline', () => {
  it('uploads a PNG picture of the run to its thread when it ends', async () => {
    const { ts } = await completedRun();
    const png = await eventually(
      () => h.slack.uploadedFiles().find((f) => f.filename === 'timeline.png' && f.threadTs === ts && f.completed),
      5000,
      'timeline.png in the thread',
    );
    expect(png.channelId).toBe(CHANNEL);
    expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.bytes.subarray(12, 16).toString('ascii')).toBe('IHDR');
    const width = png.bytes.readUInt32BE(16);
    const height = png.bytes.readUInt32BE(20);
    expect(width).toBeGreaterThan(100);
    expect(height).toBeGreaterThan(100);
    expect(width).toBeLessThan(10_000);
    expect(height).toBeLessThan(10_000);
    expect(h.slack.threadReplies(CHANNEL, ts).some((m) => m.files?.includes(png.id))).toBe(true);
  });
});

describe('the App Home', () => {
  const HOME_USER = 'U_HOMEUSER';
  const openHome = (user: string) => openHomeTab(h.url, SIGNING_SECRET, user);
  const publishesTo = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user);

  it('lists the person’s orchestrations when opened, and is republished when their run changes state', async () => {
    const goal = 'Plan the launch of the offline-first recorder in Lisbon';
    const res = await h.command(goal, HOME_USER);
    expect(res.status).toBe(200);
    const doc = await eventually(
      async () => Orchestration.findOne({ requesterId: HOME_USER, messageTs: { $ne: null } }).lean(),
      10_000,
      'the proposal',
    );
    const proposal = h.slack.callsTo('chat.postMessage').find((c) => c.response?.ts === doc.messageTs)!;
    const approveValue = findButton(proposal, 'orchestrate.approve')!.value;

    const opened = await openHome(HOME_USER);
    expect(opened.status).toBe(200);
    await eventually(() => publishesTo(HOME_USER).length > 0, 5000, 'the Home tab published');
    const home = JSON.stringify(h.slack.homeView(HOME_USER));
    expect(home).toContain('Lisbon');
    expect(home).toContain('Proposed');

    const before = publishesTo(HOME_USER).length;
    await h.click('orchestrate.approve', approveValue, HOME_USER, doc.messageTs!);
    await h.waitForEnd(String(doc._id), 'completed');
    await eventually(() => publishesTo(HOME_USER).length > before, 10_000, 'the Home tab republished');
    await eventually(
      () => JSON.stringify(h.slack.homeView(HOME_USER)).includes('Completed'),
      10_000,
      'the Home tab showing the run completed',
    );
    expect(JSON.stringify(h.slack.homeView(HOME_USER))).toContain('Lisbon');
  });
});

describe('the operators’ dashboard', () => {
  it('answers 401 without credentials and 200 with them', async () => {
    const url = `http://127.0.0.1:${h.service.port}/admin/jobs/`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    const wrong = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from(`${ADMIN_USER}:not-the-password`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    const operator = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    expect(operator.status).toBe(200);
    expect(await operator.text()).toMatch(/<html/i);
  });
});
