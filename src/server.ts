/**
 * Starts the whole service from a validated Config: database, job engine, Slack app. Used by
 * main.ts and by the end-to-end tests, so the tests run exactly what users run.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import { adminJobsRoutes, startAdminJobsServer } from './adminJobs.js';
import { buildApp, registerListeners } from './app.js';
import { type Config, secretsOf } from './config.js';
import { connectDatabase, type Database } from './db.js';
import { settleUntaggedDocuments } from './engine/install/backfill.js';
import { Installations } from './engine/install/installations.js';
import { engineClient } from './engine/install/tenantClient.js';
import type { ChatLlm } from './engine/llm/client.js';
import { createModelRegistry } from './engine/money/models.js';
import { Engine } from './engine/run/engine.js';
import { ToolCatalog } from './engine/tools/catalog.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { type BotIdentity, slackRefusal, verifyBotToken } from './slackIdentity.js';

export interface RunningService {
  app: App;
  engine: Engine;
  database: Database;
  /** The HTTP port, or null in Socket Mode. */
  port: number | null;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Replaces the LLM built from config (tests use the real one against a fake server). */
  llm?: ChatLlm;
  watchIntervalMs?: number;
}

export async function startService(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel, secretsOf(config));
  // Refuse to start blind: a model without a price cannot have its budget enforced.
  const models = createModelRegistry(config.llm, config.prices, options.llm ? { defaultLlm: options.llm } : {});
  const pricer = models.pricerFor(null);
  const { botToken } = config.slack;
  // One workspace: its token is checked once, here. With OAuth each workspace's comes from its installation.
  const identity: BotIdentity | null = botToken ? await verifyBotToken(botToken, config, logger) : null;
  const installations = config.slack.oauth ? new Installations() : null;
  const database = await connectDatabase(config.mongodbUri, logger);
  const db = database.connection.db;
  if (!db) throw new Error('the database connection has no db handle');
  await settleUntaggedDocuments(db, identity?.teamId ? identity : null, logger);

  const tokenFor = (tenant: Parameters<Installations['botTokenFor']>[0]) => {
    if (!installations) throw new Error('no installation store: SLACK_BOT_TOKEN is the only token');
    return installations.botTokenFor(tenant);
  };
  // Bounded well inside the job lock (Bolt's default retries for about 30 minutes), so a slow
  // Slack never outlasts a job's lock and makes it look dead.
  const slackWindowMs = Math.min(120_000, Math.floor(config.engine.lockLifetimeMs / 2));
  const jobSlack = engineClient(botToken, tokenFor, {
    slackApiUrl: config.slack.apiUrl,
    logger,
    timeout: Math.min(30_000, slackWindowMs),
    retryConfig: {
      retries: 4,
      factor: 2,
      minTimeout: Math.min(1000, slackWindowMs / 8),
      maxTimeout: 15_000,
      maxRetryTime: slackWindowMs,
    },
  });
  // The outbox paces and retries posts itself, and must see a 429 rather than have the client wait it out.
  const postClient = engineClient(botToken, tokenFor, {
    slackApiUrl: config.slack.apiUrl,
    logger,
    timeout: 15_000,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  // MCP servers are started once, here, and shared by every step; one that is down is left out and said so.
  const tools = await ToolCatalog.start(config.tools, logger);
  const engine = new Engine({
    postClient,
    config,
    db,
    llm: models.llmFor(null),
    pricer,
    models,
    tools,
    slack: jobSlack,
    logger,
    ...(options.watchIntervalMs ? { watchIntervalMs: options.watchIntervalMs } : {}),
  });

  let ready = false;
  const extraRoutes = config.admin && !config.slack.appToken ? adminJobsRoutes(engine.agenda, config.admin) : [];
  const app = buildApp({
    config,
    logger,
    identity,
    isReady: () => ready,
    extraRoutes,
    ...(installations ? { installationStore: installations } : {}),
  });
  registerListeners(app, { config, engine, logger, toolChoices: tools.available(), installations });
  app.error(async (error) => {
    logger.error(`unhandled error in a listener: ${error.message}`);
  });

  let port: number | null = null;
  let httpServer: Server | null = null;
  let adminServer: Awaited<ReturnType<typeof startAdminJobsServer>> | null = null;
  try {
    await engine.startProcessing();
    if (config.slack.appToken) {
      await app.start().catch((error: unknown) => {
        const refusal = slackRefusal(error);
        if (!refusal) throw error;
        throw new ConfigError(
          `Configuration error: SLACK_APP_TOKEN was refused by Slack (${refusal}) — create an app-level token with connections:write under Basic Information, or unset it to use HTTP. See README.md → Configuration.`,
        );
      });
    } else {
      httpServer = (await app.start(config.port)) as Server;
      port = (httpServer.address() as AddressInfo).port;
    }
    // In Socket Mode Bolt serves no HTTP: the dashboard gets a server of its own on PORT.
    if (config.admin && config.slack.appToken) {
      adminServer = await startAdminJobsServer(engine.agenda, config.admin, config.port);
      logger.info(`The operators' job dashboard is at http://localhost:${adminServer.port}/admin/jobs/`);
    }
  } catch (error) {
    // The caller gets no handle on what already runs (the job engine, MCP servers, mongoose's global
    // connection): left running after a refused SLACK_APP_TOKEN or a taken PORT, it would keep
    // polling, and the next start in the same process could not connect to its database.
    await app.stop().catch(() => undefined);
    await engine.drain().catch(() => undefined);
    await tools.close().catch(() => undefined);
    await database.stop().catch(() => undefined);
    throw error;
  }
  ready = true;

  let stopped = false;
  return {
    app,
    engine,
    database,
    port,
    logger,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      ready = false;
      // An open dashboard keeps an event stream open, which would hold the server's close for ever.
      httpServer?.closeAllConnections();
      await app.stop().catch(() => undefined);
      await adminServer?.close();
      await engine.drain();
      await tools.close();
      await database.stop();
    },
  };
}
