/** Sends Slack-signed HTTP requests (slash commands, interactions) to a Bolt HTTP app. */
import { createHmac, randomBytes } from 'node:crypto';

/** Slack's v0 request signature: v0= + hex HMAC-SHA256(secret, `v0:${timestamp}:${body}`), timestamp in seconds. */
export function signSlackBody(
  signingSecret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): { 'x-slack-signature': string; 'x-slack-request-timestamp': string } {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SlackHttpResponse {
  status: number;
  text: string;
  json: any | null;
}

export async function postSlack(
  url: string,
  signingSecret: string,
  body: string,
  contentType: string,
  options: { timestamp?: number; signature?: string } = {},
): Promise<SlackHttpResponse> {
  const headers = signSlackBody(signingSecret, body, options.timestamp);
  if (options.signature) headers['x-slack-signature'] = options.signature;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

export function sendSlashCommand(
  url: string,
  signingSecret: string,
  fields: {
    command?: string;
    text: string;
    user_id: string;
    channel_id: string;
    team_id?: string;
    response_url: string;
    trigger_id?: string;
    user_name?: string;
    channel_name?: string;
  },
  options?: { timestamp?: number; signature?: string },
): Promise<SlackHttpResponse> {
  const body = new URLSearchParams({
    token: 'legacy-token',
    team_id: fields.team_id ?? 'T1',
    team_domain: 'fake',
    channel_id: fields.channel_id,
    channel_name: fields.channel_name ?? 'general',
    user_id: fields.user_id,
    user_name: fields.user_name ?? fields.user_id.toLowerCase(),
    command: fields.command ?? '/orchestrate',
    text: fields.text,
    api_app_id: 'A1',
    response_url: fields.response_url,
    trigger_id: fields.trigger_id ?? randomBytes(6).toString('hex'),
  }).toString();
  return postSlack(url, signingSecret, body, 'application/x-www-form-urlencoded', options);
}

export function sendInteraction(
  url: string,
  signingSecret: string,
  payload: object,
  options?: { timestamp?: number; signature?: string },
): Promise<SlackHttpResponse> {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return postSlack(url, signingSecret, body, 'application/x-www-form-urlencoded', options);
}

export function blockActionPayload(args: {
  userId: string;
  channelId: string;
  messageTs: string;
  actionId: string;
  value: string;
  blockId?: string;
  triggerId?: string;
  responseUrl?: string;
  teamId?: string;
  message?: { blocks?: unknown[]; text?: string };
}): object {
  const teamId = args.teamId ?? 'T1';
  return {
    type: 'block_actions',
    user: { id: args.userId, username: args.userId.toLowerCase(), team_id: teamId },
    api_app_id: 'A1',
    token: 'x',
    container: { type: 'message', message_ts: args.messageTs, channel_id: args.channelId, is_ephemeral: false },
    trigger_id: args.triggerId ?? randomBytes(6).toString('hex'),
    team: { id: teamId, domain: 'fake' },
    channel: { id: args.channelId, name: 'general' },
    message: {
      type: 'message',
      ts: args.messageTs,
      text: args.message?.text ?? '',
      blocks: args.message?.blocks ?? [],
    },
    response_url: args.responseUrl ?? 'http://127.0.0.1:9/unused',
    actions: [
      {
        type: 'button',
        action_id: args.actionId,
        block_id: args.blockId ?? 'b',
        value: args.value,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
}

export function viewSubmissionPayload(args: {
  userId: string;
  callbackId: string;
  privateMetadata: string;
  values: Record<string, Record<string, unknown>>;
  viewId?: string;
  teamId?: string;
}): object {
  const teamId = args.teamId ?? 'T1';
  return {
    type: 'view_submission',
    team: { id: teamId, domain: 'fake' },
    user: { id: args.userId, username: args.userId.toLowerCase(), team_id: teamId },
    api_app_id: 'A1',
    token: 'x',
    trigger_id: randomBytes(6).toString('hex'),
    view: {
      id: args.viewId ?? 'V1',
      type: 'modal',
      callback_id: args.callbackId,
      private_metadata: args.privateMetadata,
      state: { values: args.values },
      hash: 'h',
      title: { type: 'plain_text', text: 'x' },
      blocks: [],
    },
  };
}

let events = 0;

/** An Events API callback (a message, a mention, the Home tab opened), signed, as Slack delivers it. */
export function sendEvent(
  url: string,
  signingSecret: string,
  event: Record<string, unknown>,
  teamId = 'T1',
): Promise<SlackHttpResponse> {
  return postSlack(
    url,
    signingSecret,
    JSON.stringify({
      type: 'event_callback',
      team_id: teamId,
      api_app_id: 'A1',
      event,
      event_id: `Ev${Date.now()}${++events}`,
      event_time: Math.floor(Date.now() / 1000),
    }),
    'application/json',
  );
}

/** The person opened the app's Home tab. */
export const openHomeTab = (url: string, signingSecret: string, user: string) =>
  sendEvent(url, signingSecret, {
    type: 'app_home_opened',
    user,
    channel: 'D1',
    tab: 'home',
    event_ts: `${Date.now() / 1000}`,
  });
