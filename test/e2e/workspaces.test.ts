/**
 * Many workspaces through OAuth, end to end: the install round trip (the install page, its state
 * cookie, Slack's redirect, oauth.v2.access), each workspace's requests and jobs answered with its
 * own token, approvers per workspace, no way to see or change another workspace's orchestration
 * (even with its id forged into a button or a command), and an uninstall that cancels only its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverIds } from '../../src/blocks/approvers.js';
import { secretsOf } from '../../src/config.js';
import { redact } from '../../src/logger.js';
import { Installation } from '../../src/models/installation.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Schedule } from '../../src/models/schedule.js';
import type { SlackCall } from '../fakes/fakeSlack.js';
import type { FakeWorkspace } from '../fakes/fakeSlackInstalls.js';
import {
  blocksText,
  eventually,
  findButton,
  type Harness,
  SIGNING_SECRET,
  startHarness,
  waitForStatus,
} from '../helpers/harness.js';
import {
  blockActionPayload,
  sendEvent,
  sendInteraction,
  sendSlashCommand,
  viewSubmissionPayload,
} from '../helpers/signedRequests.js';

const OAUTH_ENV = {
  SLACK_BOT_TOKEN: '',
  SLACK_CLIENT_ID: '1111.2222',
  SLACK_CLIENT_SECRET: 'fake-client-secret',
  SLACK_STATE_SECRET: 'a-state-secret-for-the-tests',
  // Everything logged, so that the check for secrets below reads all there is.
  LOG_LEVEL: 'debug',
};

interface Workspace extends FakeWorkspace {
  channel: string;
  requester: string;
}

const ALPHA: Workspace = {
  teamId: 'TALPHA',
  teamName: 'Alpha',
  botToken: 'xoxb-alpha-token',
  botUserId: 'UBOTALPHA',
  installerId: 'UINSTALPHA',
  channel: 'CALPHA',
  requester: 'UREQALPHA',
};
const BETA: Workspace = {
  teamId: 'TBETA',
  teamName: 'Beta',
  botToken: 'xoxb-beta-token',
  botUserId: 'UBOTBETA',
  installerId: 'UINSTBETA',
  channel: 'CBETA',
  requester: 'UREQBETA',
};

const GAMMA: Workspace = {
  teamId: 'TGAMMA',
  teamName: 'Gamma',
  botToken: 'xoxb-gamma-token',
  botUserId: 'UBOTGAMMA',
  installerId: 'UINSTGAMMA',
  channel: 'CGAMMA',
  requester: 'UREQGAMMA',
};

let h: Harness;
let base: string;
let calls = 0;

beforeAll(async () => {
  h = await startHarness(OAUTH_ENV);
  base = h.url.replace(/\/slack\/events$/, '');
});
afterAll(async () => {
  await h?.stop();
});

/** What a person does to install: open the install page, click through Slack's consent, come back. */
async function install(ws: Workspace): Promise<{ page: string; done: Response }> {
  const code = `code-${ws.teamId}-${++calls}`;
  h.slack.installs.grant(code, ws);
  const res = await fetch(`${base}/slack/install`);
  expect(res.status).toBe(200);
  const page = await res.text();
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const state = /[?&;]state=([\w.-]+)/.exec(page)?.[1];
  if (!state) throw new Error(`no state in the install page: ${page.slice(0, 300)}`);
  const done = await fetch(`${base}/slack/oauth_redirect?code=${code}&state=${state}`, { headers: { cookie } });
  return { page, done };
}

function command(ws: Workspace, text: string, user = ws.requester) {
  return sendSlashCommand(h.url, SIGNING_SECRET, {
    text,
    user_id: user,
    channel_id: ws.channel,
    team_id: ws.teamId,
    response_url: h.slack.responseUrl(`cmd-${ws.teamId}-${++calls}`),
  });
}

/** A click in `ws`, and the private answer it got (the reply to its response_url), if any. */
async function click(ws: Workspace, actionId: string, value: string, user: string): Promise<string | null> {
  const responseId = `click-${ws.teamId}-${++calls}`;
  const res = await sendInteraction(
    h.url,
    SIGNING_SECRET,
    blockActionPayload({
      userId: user,
      channelId: ws.channel,
      messageTs: '1.0',
      actionId,
      value,
      teamId: ws.teamId,
      responseUrl: h.slack.responseUrl(responseId),
    }),
  );
  expect(res.status).toBe(200);
  const answer = await h.slack
    .waitFor((c) => c.method === 'response_url' && c.args._responseId === responseId, 3000)
    .catch(() => null);
  return answer ? String(answer.args.text ?? '') : null;
}

/** Waits until `ws`'s installation is deleted (the app left it). */
function installationGone(ws: Workspace) {
  return eventually(
    async () => (await Installation.countDocuments({ teamId: ws.teamId })) === 0,
    5000,
    `${ws.teamName}'s installation deleted`,
  );
}

/** `/orchestrate <goal>` in `ws`, until its proposal is posted; returns the Approve button's value and the id. */
async function propose(
  ws: Workspace,
  goal: string,
  user = ws.requester,
): Promise<{ value: string; id: string; post: SlackCall }> {
  expect((await command(ws, goal, user)).status).toBe(200);
  const post = await h.slack.waitFor(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.args.channel === ws.channel &&
      !c.args.thread_ts &&
      blocksText(c).includes(goal.slice(0, 30)) &&
      findButton(c, 'orchestrate.approve') !== undefined,
    15_000,
  );
  const value = findButton(post, 'orchestrate.approve')!.value;
  return { value, id: JSON.parse(value).orchestrationId as string, post };
}

describe('installing through OAuth', () => {
  it('keeps the installation, makes the installer an approver, and answers that workspace with its own token', async () => {
    const { page, done } = await install(ALPHA);
    expect(page).toContain('client_id=1111.2222');
    expect(page).toContain('chat%3Awrite');
    expect(done.status).toBe(200);
    const stored = await Installation.findOne({ teamId: ALPHA.teamId }).lean();
    expect(stored?.installation.bot?.token).toBe(ALPHA.botToken);
    expect(stored?.installedBy).toBe(ALPHA.installerId);

    const { post, id } = await propose(ALPHA, 'Alpha goal: map the offline recorder market');
    // Planned by a job, which has no request: the token came from the installation.
    expect(post.args._auth).toBe(ALPHA.botToken);
    expect((await Orchestration.findById(id).lean())?.slackTeamId).toBe(ALPHA.teamId);
  });

  it('refuses a redirect without the state its install page set, and stores nothing', async () => {
    h.slack.installs.grant('code-forged', BETA);
    const res = await fetch(`${base}/slack/oauth_redirect?code=code-forged&state=forged`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await Installation.countDocuments({ teamId: BETA.teamId })).toBe(0);
    expect(h.slack.callsTo('oauth.v2.access').some((c) => c.args.code === 'code-forged')).toBe(false);
  });
});

describe('two workspaces', () => {
  let alpha: { value: string; id: string };
  let beta: { value: string; id: string };

  beforeAll(async () => {
    await install(BETA);
    alpha = await propose(ALPHA, 'Alpha goal: a positioning doc for Alpha');
    beta = await propose(BETA, 'Beta goal: a pricing page for Beta');
  });

  it('cannot approve or cancel the other workspace’s orchestration, even with its id forged into a button', async () => {
    const before = await Orchestration.findById(alpha.id).lean();
    // Beta's installer is an approver, but in Beta only.
    const approve = await click(BETA, 'orchestrate.approve', alpha.value, BETA.installerId);
    const cancel = await click(BETA, 'orchestrate.cancel', alpha.value, BETA.installerId);
    expect(approve).toContain('no longer exists. Nothing was changed.');
    expect(cancel).toContain('no longer exists');
    const after = await Orchestration.findById(alpha.id).lean();
    expect(after?.status).toBe('proposed');
    expect(after?.revision).toBe(before?.revision);
    expect(after?.transitions).toHaveLength(before!.transitions.length);
  });

  it('cannot cancel it or see it by command either', async () => {
    const responseId = `cmd-${BETA.teamId}-${calls + 1}`;
    const res = await command(BETA, `cancel ${alpha.id}`, BETA.installerId);
    const answer =
      res.json?.text ??
      (await h.slack.waitFor((c) => c.method === 'response_url' && c.args._responseId === responseId)).args.text;
    expect(String(answer)).toContain('No orchestration matches that link or id');
    expect((await Orchestration.findById(alpha.id).lean())?.status).toBe('proposed');
  });

  it('takes approvers per workspace: Alpha’s installer may not approve in Beta, Beta’s may', async () => {
    const refused = await click(BETA, 'orchestrate.approve', beta.value, ALPHA.installerId);
    expect(refused).toMatch(/^:no_entry: /);
    expect((await Orchestration.findById(beta.id).lean())?.status).toBe('proposed');

    await click(BETA, 'orchestrate.approve', beta.value, BETA.installerId);
    await waitForStatus(beta.id, 'completed', 30_000);
    const betaPosts = h.slack.calls.filter((c) => c.method.startsWith('chat.') && c.args.channel === BETA.channel);
    expect(betaPosts.length).toBeGreaterThan(3);
    // Every call the run made in Beta's channel went with Beta's token.
    expect(new Set(betaPosts.map((c) => c.args._auth))).toEqual(new Set([BETA.botToken]));
  });

  it('lets an approver name the workspace’s approvers with a people picker; they approve there and nowhere else', async () => {
    /** `/orchestrate approvers` in Beta as `user`: the private answer. */
    const listAs = async (user: string) => {
      const responseId = `cmd-${BETA.teamId}-${calls + 1}`;
      await command(BETA, 'approvers', user);
      return h.slack.waitFor((c) => c.method === 'response_url' && c.args._responseId === responseId);
    };
    const stranger = await listAs('USTRANGERB');
    expect(String(stranger.args.text)).toContain(`This workspace’s: <@${BETA.installerId}>.`);
    expect(findButton(stranger, ApproverIds.edit)).toBeUndefined();
    // A forged Edit click from someone who is not an approver opens nothing.
    const refused = await click(BETA, ApproverIds.edit, 'edit', 'USTRANGERB');
    expect(refused).toContain('Only an approver can change who approves');

    const shown = await listAs(BETA.installerId);
    expect(findButton(shown, ApproverIds.edit)).toBeDefined();
    const opened = h.slack.callsTo('views.open').length;
    await click(BETA, ApproverIds.edit, 'edit', BETA.installerId);
    const modal = await eventually(() => h.slack.callsTo('views.open')[opened], 3000, 'the approvers modal');
    expect(modal.args.view.callback_id).toBe(ApproverIds.modal);
    expect(modal.args.view.blocks[0].element.initial_users).toEqual([BETA.installerId]);

    const pick = (users: string[], by: string) =>
      sendInteraction(
        h.url,
        SIGNING_SECRET,
        viewSubmissionPayload({
          userId: by,
          teamId: BETA.teamId,
          callbackId: ApproverIds.modal,
          privateMetadata: modal.args.view.private_metadata,
          values: { [ApproverIds.pickerBlock]: { [ApproverIds.picker]: { selected_users: users } } },
        }),
      );
    // Saved by someone who is not (or no longer) an approver: refused in the form, nothing stored.
    const notAllowed = await pick(['USTRANGERB'], 'USTRANGERB');
    expect(notAllowed.json?.response_action).toBe('errors');
    expect((await pick([BETA.installerId, 'UNEWBETA'], BETA.installerId)).status).toBe(200);
    await h.slack.waitFor(
      (c) =>
        c.method === 'response_url' && c.args.replace_original === true && String(c.args.text).includes('UNEWBETA'),
    );

    const next = await propose(BETA, 'Beta goal: approved by the newly named approver');
    await click(BETA, 'orchestrate.approve', next.value, 'UNEWBETA');
    await waitForStatus(next.id, 'completed', 30_000);
    // Named in Beta, so nothing in Alpha.
    const inAlpha = await propose(ALPHA, 'Alpha goal: not for a Beta approver');
    expect(await click(ALPHA, 'orchestrate.approve', inAlpha.value, 'UNEWBETA')).toMatch(/^:no_entry: /);
    expect((await Orchestration.findById(inAlpha.id).lean())?.status).toBe('proposed');
  });

  it('draws a Home tab from its own workspace only, for a person who asked in both (an Enterprise Grid user)', async () => {
    const person = 'WGRIDUSER';
    await propose(ALPHA, 'Alpha goal: asked by the grid user', person);
    await propose(BETA, 'Beta goal: asked by the grid user', person);
    const published = h.slack.callsTo('views.publish').length;
    await sendEvent(h.url, SIGNING_SECRET, { type: 'app_home_opened', user: person, tab: 'home' }, BETA.teamId);
    const home = await eventually(
      () =>
        h.slack
          .callsTo('views.publish')
          .slice(published)
          .find((c) => c.args.user_id === person),
      5000,
      'the Home tab published',
    );
    const shown = JSON.stringify(home.args.view);
    expect(shown).toContain('Beta goal: asked by the grid user');
    expect(shown).not.toContain('Alpha goal');
    expect(home.args._auth).toBe(BETA.botToken);
  });

  it('uninstalling Alpha cancels only Alpha’s open orchestrations, with the reason, and forgets its token', async () => {
    await Schedule.collection.insertOne({
      slackTeamId: ALPHA.teamId,
      slackEnterpriseId: null,
      paused: false,
      name: 'weekly',
    });
    const betaOpen = await propose(BETA, 'Beta goal: still open after Alpha leaves');
    const res = await sendEvent(h.url, SIGNING_SECRET, { type: 'app_uninstalled' }, ALPHA.teamId);
    expect(res.status).toBe(200);
    const cancelled = await waitForStatus(alpha.id, 'cancelled', 10_000);
    expect(cancelled.statusReason).toBe('Orchestrate was uninstalled from this workspace.');
    await installationGone(ALPHA);
    expect((await Orchestration.findById(betaOpen.id).lean())?.status).toBe('proposed');
    expect(await Installation.countDocuments({ teamId: BETA.teamId })).toBe(1);
    // The schedules pause after every open orchestration there is cancelled.
    await eventually(
      async () => (await Schedule.collection.findOne({ slackTeamId: ALPHA.teamId }))?.paused === true,
      5000,
      'Alpha’s schedule paused',
    );
    expect(await Orchestration.countDocuments({ slackTeamId: ALPHA.teamId, status: 'proposed' })).toBe(0);
    // No Slack call was made with Alpha's token for the cancel.
    const after = h.slack.calls.filter((c) => c.at >= cancelled.finishedAt!.getTime());
    expect(after.filter((c) => c.args._auth === ALPHA.botToken)).toEqual([]);
  });

  it('a revoked user token changes nothing; the bot token revoked closes the workspace like an uninstall', async () => {
    await install(GAMMA);
    const gamma = await propose(GAMMA, 'Gamma goal: a launch checklist');
    const revoked = (tokens: Record<string, string[]>) =>
      sendEvent(h.url, SIGNING_SECRET, { type: 'tokens_revoked', tokens }, GAMMA.teamId);
    expect((await revoked({ oauth: ['UREQGAMMA'] })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await Orchestration.findById(gamma.id).lean())?.status).toBe('proposed');
    expect(await Installation.countDocuments({ teamId: GAMMA.teamId })).toBe(1);

    expect((await revoked({ bot: [GAMMA.botUserId] })).status).toBe(200);
    const cancelled = await waitForStatus(gamma.id, 'cancelled', 10_000);
    expect(cancelled.statusReason).toBe("Orchestrate's access to this workspace was revoked.");
    await installationGone(GAMMA);
  });
});

describe('the log', () => {
  it('shows no workspace’s token and none of the OAuth secrets, as the app’s logger writes each line', () => {
    // The harness keeps lines as given; the app's logger (createLogger) masks each one like this before writing it.
    // Slack's client logs a request body at debug level, and oauth.v2.access's holds the client secret.
    const raw = h.logs.join('\n');
    expect(raw).toContain('fake-client-secret');
    const written = h.logs.map((line) => redact(line, secretsOf(h.config))).join('\n');
    expect(written.length).toBeGreaterThan(1000);
    const secrets = [ALPHA, BETA, GAMMA].map((w) => w.botToken);
    for (const secret of [...secrets, OAUTH_ENV.SLACK_CLIENT_SECRET, OAUTH_ENV.SLACK_STATE_SECRET]) {
      expect(written).not.toContain(secret);
    }
  });
});
