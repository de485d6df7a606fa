/**
 * The job dashboard at /admin/jobs: basic auth, the page, its assets and API, served through Bolt's HTTP receiver
 * (without breaking /slack/events) and through the standalone server used in Socket Mode.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoBackend } from '@agendajs/mongo-backend';
import { App, LogLevel } from '@slack/bolt';
import { Agenda, InMemoryNotificationChannel } from 'agenda';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminJobsRoutes, startAdminJobsServer } from '../src/adminJobs.js';
import { loadConfig } from '../src/config.js';
import { type EmbeddedServer, startEmbeddedMongo } from '../src/db.js';

const credentials = { user: 'ops', password: 'pässword:with-colon' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const good = { authorization: basic(credentials.user, credentials.password) };
const JOB = 'adminJobs.test-job';

let mongo: EmbeddedServer;
let agenda: Agenda;

beforeAll(async () => {
  mongo = await startEmbeddedMongo();
  await mongoose.connect(mongo.uri);
  agenda = new Agenda({
    backend: new MongoBackend({ mongo: mongoose.connection.db!, collection: 'agendaJobs' }),
    // A channel with state subscriptions turns on the page's live event stream (SSE), which shutdown must survive.
    notificationChannel: new InMemoryNotificationChannel(),
  });
  agenda.define(JOB, async () => {});
  await agenda.schedule('in 1 hour', JOB, { marker: 'dash-visible' });
});

afterAll(async () => {
  await mongoose.disconnect();
  await mongo?.stop();
});

/** The checks both ways of serving share: auth, the page, an asset it loads and the API call it makes. */
async function checkDashboard(base: string): Promise<void> {
  const anonymous = await fetch(`${base}/admin/jobs/`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="Orchestrate jobs"');

  for (const wrong of [basic('ops', 'nope'), basic('nope', credentials.password), 'Basic !!!', 'Bearer x']) {
    expect((await fetch(`${base}/admin/jobs/`, { headers: { authorization: wrong } })).status).toBe(401);
  }
  expect((await fetch(`${base}/admin/jobs/api`)).status).toBe(401);

  // Without the trailing slash the page's relative asset URLs would miss: it redirects, keeping the query.
  const bare = await fetch(`${base}/admin/jobs?x=1`, { headers: good, redirect: 'manual' });
  expect(bare.status).toBe(301);
  expect(bare.headers.get('location')).toBe('jobs/?x=1');

  const page = await fetch(`${base}/admin/jobs`, { headers: good });
  expect(page.status).toBe(200);
  expect(page.url).toBe(`${base}/admin/jobs/`);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const html = await page.text();
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  const asset = await fetch(new URL(script!, page.url), { headers: good });
  expect(asset.status).toBe(200);
  expect(asset.headers.get('content-type')).toMatch(/javascript/);
  await asset.arrayBuffer();

  // The listing the page fetches (relative "api?…").
  const api = await fetch(new URL(`api?job=${encodeURIComponent(JOB)}`, page.url), { headers: good });
  expect(api.status).toBe(200);
  expect(api.headers.get('content-type')).toMatch(/application\/json/);
  const listing = (await api.json()) as { jobs: { job: { name: string; data: unknown }; scheduled: boolean }[] };
  expect(listing.jobs).toHaveLength(1);
  expect(listing.jobs[0]).toMatchObject({ job: { name: JOB, data: { marker: 'dash-visible' } }, scheduled: true });
}

/** Opens the page's live event stream and returns once its first event has arrived; the socket stays open. */
async function openEventStream(base: string): Promise<void> {
  const events = await fetch(`${base}/admin/jobs/api/events`, { headers: good });
  expect(events.status).toBe(200);
  const reader = events.body!.getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain('connected');
}

describe('through Bolt HTTP mode customRoutes', () => {
  let app: App;
  let base: string;
  let server: Server;

  beforeAll(async () => {
    app = new App({
      token: 'xoxb-x',
      signingSecret: 's',
      botId: 'B',
      botUserId: 'U',
      logLevel: LogLevel.ERROR,
      customRoutes: adminJobsRoutes(agenda, credentials),
      clientOptions: { slackApiUrl: 'http://127.0.0.1:9/' },
    });
    server = (await app.start(0)) as Server;
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    // Bolt's stop() waits for open sockets; an open dashboard tab holds one (SSE), so the app's shutdown must cut them.
    server?.closeAllConnections();
    await app?.stop();
  });

  it('serves the dashboard behind basic auth', async () => {
    await checkDashboard(base);
  });

  it('leaves Slack events and other paths as Bolt answers them', async () => {
    const unsigned = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'url_verification', challenge: 'c' }),
    });
    expect(unsigned.status).toBe(401);
    expect((await fetch(`${base}/admin/jobsx`, { headers: good })).status).toBe(404);
    expect((await fetch(`${base}/other`, { headers: good })).status).toBe(404);
  });

  it('can write: deleting a job through the API (why it is behind auth)', async () => {
    const doomed = await agenda.schedule('in 2 hours', `${JOB}-doomed`, {});
    const res = await fetch(`${base}/admin/jobs/api/jobs/delete`, {
      method: 'POST',
      headers: { ...good, 'content-type': 'application/json' },
      body: JSON.stringify({ jobIds: [String(doomed.attrs._id)] }),
    });
    expect(res.status).toBe(200);
    expect((await agenda.queryJobs({ name: `${JOB}-doomed` })).total).toBe(0);

    const anonymous = await fetch(`${base}/admin/jobs/api/jobs/delete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobIds: [] }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('answers a malformed body with 400 and no stack trace', async () => {
    const res = await fetch(`${base}/admin/jobs/api/jobs/delete`, {
      method: 'POST',
      headers: { ...good, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('Bad request');
  });

  it('keeps a live event stream open for the page', async () => {
    await openEventStream(base);
  });
});

describe('through the standalone server (Socket Mode)', () => {
  it('serves the dashboard behind basic auth, 404 elsewhere, and closes with a stream open', async () => {
    const server = await startAdminJobsServer(agenda, credentials, 0);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect(server.port).toBeGreaterThan(0);
      await checkDashboard(base);
      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/healthz`)).status).toBe(404);
      await openEventStream(base);
    } finally {
      await server.close();
    }
  });

  it('refuses to listen on a port in use', async () => {
    const first = await startAdminJobsServer(agenda, credentials, 0);
    try {
      await expect(startAdminJobsServer(agenda, credentials, first.port)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

describe('configuration', () => {
  it('is off unless both ADMIN_USER and ADMIN_PASSWORD are set, and says which one is missing', () => {
    const base = { SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-1', OPENAI_API_KEY: 'k' };
    expect(loadConfig(base).admin).toBeNull();
    expect(() => loadConfig({ ...base, ADMIN_USER: 'ops', ADMIN_PASSWORD: '' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...base, ADMIN_USER: 'ops' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...base, ADMIN_PASSWORD: 'a-long-password' })).toThrow(/ADMIN_USER/);
    expect(() => loadConfig({ ...base, ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
    const admin = loadConfig({ ...base, ADMIN_USER: 'ops', ADMIN_PASSWORD: 'a-long-password' }).admin;
    expect(admin).toEqual({ user: 'ops', password: 'a-long-password' });
  });

  it('refuses credentials that would let anyone in or never match', () => {
    expect(() => adminJobsRoutes(agenda, { user: 'ops', password: '' })).toThrow(/non-empty/);
    expect(() => adminJobsRoutes(agenda, { user: 'o:ps', password: 'pw' })).toThrow(/":"/);
  });
});
