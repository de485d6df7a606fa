/**
 * Entry point: load .env if present, validate configuration, start, and shut down cleanly on
 * SIGTERM/SIGINT (running steps are drained, not dropped).
 */
import { existsSync } from 'node:fs';
import { loadConfig } from './config.js';
import { hasCode } from './errors.js';
import { startService } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

try {
  const config = loadConfig();
  const service = await startService(config);
  service.logger.info(
    service.port === null
      ? 'Orchestrate is running in Socket Mode.'
      : `Orchestrate is listening on port ${service.port} (POST /slack/events, GET /healthz${
          config.slack.oauth ? '; workspaces install at GET /slack/install' : ''
        }).`,
  );
  const shutdown = (signal: string) => {
    service.logger.info(`${signal} received: finishing running steps, then stopping.`);
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  if (hasCode(error, 'config') || hasCode(error, 'unknown_price') || hasCode(error, 'embedded_database')) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
