/**
 * The database connection: MONGODB_URI when set, otherwise an embedded MongoDB-compatible server
 * (CongoDB) so that `npm start` works on a fresh machine. CongoDB runs on a worker thread of its
 * own: its query engine scans and clones documents in JavaScript, and on the app's event loop that
 * work delayed every hand-off between steps. It is loaded only when it is started: with MONGODB_URI
 * set it would be about 18 MB of idle memory for nothing.
 */

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import mongoose from 'mongoose';
import { EmbeddedDatabaseError } from './errors.js';
import type { Logger } from './logger.js';

export interface Database {
  connection: mongoose.Connection;
  embedded: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedServer {
  uri: string;
  stop(): Promise<void>;
}

/**
 * The worker: plain CommonJS, so it runs the same under tsx, vitest and the built app. CongoDB's own
 * URI reports port 0, so the port is read from its socket.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.moduleUrl)
  .then(async ({ CongoServer }) => {
    const server = new CongoServer({ port: workerData.port, host: '127.0.0.1' });
    await server.start();
    parentPort.once('message', () => server.stop().finally(() => parentPort.postMessage({ stopped: true })));
    parentPort.postMessage({ port: server.server.address().port });
  })
  .catch((error) => parentPort.postMessage({ error: String((error && error.message) || error) }));
`;

type WorkerReply = { port: number } | { stopped: true } | { error: string };

/** The worker's next message, or its exit (which would otherwise leave the caller waiting forever). */
function nextReply(worker: Worker): Promise<WorkerReply> {
  return new Promise((resolve) => {
    const onMessage = (reply: WorkerReply) => settle(reply);
    const onError = (error: Error) => settle({ error: error.message });
    const onExit = (code: number) => settle({ error: `its thread exited (code ${code})` });
    const settle = (reply: WorkerReply) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      resolve(reply);
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/** Starts CongoDB on a worker thread, on `port` or a free loopback port. */
export async function startEmbeddedMongo(port = 0): Promise<EmbeddedServer> {
  const moduleUrl = pathToFileURL(
    createRequire(import.meta.url).resolve('@push.rocks/smartmongo/dist_ts/congodb/index.js'),
  ).href;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { moduleUrl, port } });
  const started = await nextReply(worker);
  if (!('port' in started)) {
    await worker.terminate();
    const why = 'error' in started ? started.error : 'it stopped';
    throw new EmbeddedDatabaseError(
      `The embedded database did not start on port ${port || '(any)'}: ${why}. Set MONGODB_URI to use your own MongoDB.`,
    );
  }
  return {
    // Without these options the driver clears its pool every second against CongoDB.
    uri: `mongodb://127.0.0.1:${started.port}/orchestrate?directConnection=true&serverMonitoringMode=poll`,
    stop: async () => {
      const stopped = nextReply(worker);
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}

export async function connectDatabase(uri: string | null, logger: Logger): Promise<Database> {
  let embedded: EmbeddedServer | null = null;
  if (!uri) {
    embedded = await startEmbeddedMongo();
    logger.warn(
      'MONGODB_URI is not set: using an embedded in-memory database. Data is NOT kept when the app stops. Set MONGODB_URI for real use.',
    );
  }
  await mongoose.connect(embedded?.uri ?? uri!, { serverSelectionTimeoutMS: 10_000 });
  return {
    connection: mongoose.connection,
    embedded: embedded !== null,
    stop: async () => {
      await mongoose.disconnect();
      await embedded?.stop();
    },
  };
}
