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
 *
 * CongoDB answers every query by testing every document of the collection, so a lookup by id
 * slowed down as the app's data grew (1.5 ms at 3,000 documents, against 0.3 ms at 100). A command
 * whose filter names its documents by \`_id\` (an ObjectId, or \`$in\` a few) is given only those
 * documents to test: its whole filter still decides, and \`_id\`s are unique, so the answer is
 * the same. Should CongoDB's internals not be as expected, it is left as it is.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const isObjectId = (v) => v !== null && typeof v === 'object' && v._bsontype === 'ObjectId';
function pinnedIds(filter) {
  const id = filter && typeof filter === 'object' ? filter._id : undefined;
  if (isObjectId(id)) return [id];
  const only = id && typeof id === 'object' && Object.keys(id).length === 1 ? id.$in : undefined;
  return Array.isArray(only) && only.length <= 100 && only.every(isObjectId) ? only : null;
}
function filterOf({ commandName, command, documentSequences }) {
  if (commandName === 'find') return command.filter;
  if (commandName === 'findAndModify' || commandName === 'count' || commandName === 'distinct') return command.query;
  if (commandName !== 'update' && commandName !== 'delete') return undefined;
  const field = commandName === 'update' ? 'updates' : 'deletes';
  const specs = (documentSequences && documentSequences.get(field)) || command[field];
  return Array.isArray(specs) && specs.length === 1 ? specs[0].q : undefined;
}
function lookUpById(router) {
  const storage = router && router.storage;
  if (!storage || typeof router.route !== 'function' || typeof storage.findById !== 'function') return;
  const route = router.route.bind(router);
  router.route = (parsed) => {
    const ids = pinnedIds(filterOf(parsed));
    if (!ids) return route(parsed);
    const findAll = async (db, coll) => {
      const found = [];
      for (const id of ids) {
        const doc = await storage.findById(db, coll, id);
        if (doc && !found.includes(doc)) found.push(doc);
      }
      return found;
    };
    // route() takes its storage into the command's context before its first await.
    router.storage = new Proxy(storage, { get: (target, key) => (key === 'findAll' ? findAll : Reflect.get(target, key)) });
    try {
      return route(parsed);
    } finally {
      router.storage = storage;
    }
  };
}
import(workerData.moduleUrl)
  .then(async ({ CongoServer }) => {
    const server = new CongoServer({ port: workerData.port, host: '127.0.0.1' });
    if (!workerData.scan) lookUpById(server.commandRouter);
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

/**
 * Starts CongoDB on a worker thread, on `port` or a free loopback port. `scan`: every query tests
 * every document, as CongoDB alone does (to compare answers and timings with).
 */
export async function startEmbeddedMongo(port = 0, { scan = false } = {}): Promise<EmbeddedServer> {
  const moduleUrl = pathToFileURL(
    createRequire(import.meta.url).resolve('@push.rocks/smartmongo/dist_ts/congodb/index.js'),
  ).href;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { moduleUrl, port, scan } });
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
