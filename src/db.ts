/**
 * The database connection: MONGODB_URI when set, otherwise an embedded in-process
 * MongoDB-compatible server (CongoDB) so that `npm start` works on a fresh machine. CongoDB (with
 * its own BSON, rxjs and query engine) is loaded only when it is started: with MONGODB_URI set it
 * would be about 18 MB of idle memory for nothing.
 */

import type { AddressInfo } from 'node:net';
import mongoose from 'mongoose';
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

/** Starts CongoDB on a free loopback port. Its own URI reports port 0, so the port is read from the socket. */
export async function startEmbeddedMongo(port = 0): Promise<EmbeddedServer> {
  const { CongoServer } = await import('@push.rocks/smartmongo/dist_ts/congodb/index.js');
  const server = new CongoServer({ port, host: '127.0.0.1' });
  await server.start();
  const address = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    // Without these options the driver clears its pool every second against CongoDB.
    uri: `mongodb://127.0.0.1:${address.port}/orchestrate?directConnection=true&serverMonitoringMode=poll`,
    stop: () => server.stop(),
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
