/**
 * The /orchestrate sub-commands over signed HTTP, as a person in Slack sees them: help, an unknown
 * word, status with links, cancel by id and by a link to the proposal, and a goal that starts with
 * a sub-command's word, which is still planned.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import type { SlackCall } from '../fakes/fakeSlack.js';
import { blockKitViolations } from '../helpers/blockLimits.js';
import {
  APPROVER,
  CHANNEL,
  eventually,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
  waitForStatus,
} from '../helpers/harness.js';

const STRANGER = 'U_STRANGER';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  h.llm.responder = scriptedResponder();
});

/** Runs the command and returns what its user sees: the ack's text, or the private answer that follows an empty ack. */
async function ask(text: string, userId = REQUESTER): Promise<{ text: string; blocks: any[]; call: SlackCall | null }> {
  const before = h.slack.calls.length;
  const res = await h.command(text, userId);
  expect(res.status).toBe(200);
  if (res.json?.text) return { text: res.json.text, blocks: res.json.blocks ?? [], call: null };
  // This command's own answer: another command's may land meanwhile.
  const id = h.lastCommandResponseId();
  const call = await h.slack.waitFor(
    (c) => c.method === 'response_url' && String(c.args._responseId) === id && h.slack.calls.indexOf(c) >= before,
  );
  expect(call.args.response_type).toBe('ephemeral');
  return { text: String(call.args.text), blocks: call.args.blocks ?? [], call };
}

const shown = (answer: { text: string; blocks: any[] }) => `${answer.text}\n${JSON.stringify(answer.blocks)}`;
const statusOf = async (id: string) => (await Orchestration.findById(id, { status: 1 }).lean())?.status;

describe('help and unknown words', () => {
  it('answers help with the usage, listing every sub-command', async () => {
    const { text } = await ask('help');
    expect(text).toMatch(/^Usage: `\/orchestrate <goal>`/);
    for (const sub of ['/orchestrate status', '/orchestrate cancel <link or id>', '/orchestrate agents']) {
      expect(text).toContain(sub);
    }
  });

  it('answers a lone unknown word with the usage, and plans nothing', async () => {
    const plans = h.llm.requests.length;
    const { text } = await ask('stats');
    expect(text).toContain('`stats` is not a command Orchestrate knows.');
    expect(text).toContain('Usage: `/orchestrate <goal>`');
    expect(await Orchestration.countDocuments({ goal: 'stats' })).toBe(0);
    expect(h.llm.requests.length).toBe(plans);
  });
});

describe('a goal that starts with a sub-command word', () => {
  it('is planned and proposed like any goal', async () => {
    const goal = 'status of the EU launch: write a brief';
    const { orchestrationId } = await h.propose(goal);
    expect(await statusOf(orchestrationId)).toBe('proposed');
    const planned = h.llm.requests.filter((r) => r.toolName === 'propose_plan').at(-1)!;
    expect(planned.user).toContain(`Goal: ${goal}`);
  });
});

describe('status', () => {
  it('lists the caller’s open orchestrations with their ids and links, and not other people’s', async () => {
    const mine = await h.propose('Compare the three cheapest CRM tools for a 10-person team');
    const theirs = await h.command('Write the onboarding guide for new support staff', STRANGER);
    expect(theirs.status).toBe(200);
    // Proposed before going on, so that no later test takes its proposal for its own.
    const other = await eventually(
      () => Orchestration.findOne({ requesterId: STRANGER }).lean(),
      5000,
      'their request',
    );
    await waitForStatus(String(other._id), 'proposed');
    const permalinks = h.slack.callsTo('chat.getPermalink').length;
    const answer = await ask('status');
    const text = shown(answer);
    expect(answer.text).toMatch(/^You have \d+ open orchestrations?\.$/);
    expect(text).toContain('Compare the three cheapest CRM tools');
    expect(text).toContain(`id \`${mine.orchestrationId}\``);
    expect(text).toContain('Proposed');
    expect(text).not.toContain('onboarding guide');
    expect(text).toContain('/orchestrate cancel &lt;link or id&gt;');
    // The proposal's permalink is asked of Slack; the channel's link stands in when Slack gives none.
    const asked = h.slack.callsTo('chat.getPermalink').slice(permalinks);
    expect(asked.map((c) => c.args.message_ts)).toContain(mine.ts);
    expect(asked.every((c) => c.args.channel === CHANNEL)).toBe(true);
    expect(text).toContain(`fake.slack.com/archives/${CHANNEL}/p`);
    expect(blockKitViolations({ text: answer.text, blocks: answer.blocks })).toEqual([]);
  });

  it('says so when nothing is open', async () => {
    const { text } = await ask('status', 'U_NEWCOMER');
    expect(text).toContain('You have no open orchestrations.');
  });
});

describe('cancel', () => {
  it('cancels the caller’s own by its id, and says so; a second cancel says it is over', async () => {
    const { orchestrationId } = await h.propose('Draft the Q3 roadmap for the mobile app');
    const answer = await ask(`cancel ${orchestrationId}`);
    expect(answer.text).toMatch(/^:no_entry_sign: Cancelled: _Draft the Q3 roadmap for the mobile app_/);
    const doc = await h.waitForEnd(orchestrationId, 'cancelled');
    expect(doc.transitions.at(-1)).toMatchObject({ to: 'cancelled', by: REQUESTER });
    const again = await ask(`cancel ${orchestrationId}`);
    expect(again.text).toBe('It was already cancelled; nothing more to stop.');
  });

  it('cancels by a link to the proposal message (or a reply in its thread), for an approver anyone’s', async () => {
    const { orchestrationId, ts } = await h.propose('Plan the offsite for the design team');
    const link = `https://fake.slack.com/archives/${CHANNEL}/p${ts.replace('.', '')}`;
    const refused = await ask(`cancel ${link}`, STRANGER);
    expect(refused.text).toContain('Only <@U_REQUESTER> (who asked for this) or an approver can do that.');
    expect(await statusOf(orchestrationId)).toBe('proposed');

    const reply = `https://fake.slack.com/archives/${CHANNEL}/p1700009999000100?thread_ts=${ts}&cid=${CHANNEL}`;
    const answer = await ask(`cancel <${reply}>`, APPROVER);
    expect(answer.text).toContain('Cancelled: _Plan the offsite for the design team_');
    const doc = await h.waitForEnd(orchestrationId, 'cancelled');
    expect(doc.transitions.at(-1)).toMatchObject({ to: 'cancelled', by: APPROVER });
  });

  it('says what is wrong with a missing, malformed or unknown reference, and changes nothing', async () => {
    expect((await ask('cancel')).text).toContain('Say which one: `/orchestrate cancel <link or id>`');
    expect((await ask('cancel 12345')).text).toContain(
      'is neither a link to a proposal message nor an orchestration id',
    );
    const unknown = await ask('cancel 0123456789abcdef01234567');
    expect(unknown.text).toContain('No orchestration matches that link or id');
  });
});
