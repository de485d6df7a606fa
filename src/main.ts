/**
 * Entry point: load .env if present, validate configuration, start, and shut down cleanly on
 * SIGTERM/SIGINT (running steps are drained, not dropped).
 */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';
import { UnknownPriceError } from './engine/budget.js';
import { startService } from './server.js';

if (existsSync('.env')) process.loadEnvFile('.env');

try {
  const config = loadConfig();
  const service = await startService(config);
  service.logger.info(
    service.port === null
      ? 'Orchestrate is running in Socket Mode.'
      : `Orchestrate is listening on port ${service.port} (POST /slack/events, GET /healthz).`,
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
  if (error instanceof ConfigError || error instanceof UnknownPriceError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
