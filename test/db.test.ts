/**
 * The embedded database (used when MONGODB_URI is unset): it runs on a worker thread, answers the
 * driver, says clearly when it cannot start, and lets go of its port when stopped.
 */
import { connect, createServer, type Server } from 'node:net';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../src/db.js';
import { hasCode } from '../src/errors.js';

const portOf = (uri: string) => Number(new URL(uri).port);

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('the embedded database', () => {
  it('stores and finds documents through the driver, then frees its port when stopped', async () => {
    const server = await startEmbeddedMongo();
    const client = await MongoClient.connect(server.uri);
    try {
      await client.db().collection('notes').insertOne({ text: 'kept' });
      expect(
        await client
          .db()
          .collection('notes')
          .findOne({}, { projection: { _id: 0 } }),
      ).toEqual({ text: 'kept' });
    } finally {
      await client.close();
      await server.stop();
    }
    expect(await refused(portOf(server.uri))).toBe(true);
  });

  it('refuses to start on a port in use with one line naming the port and the way out', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const error = await startEmbeddedMongo(port).then(
        () => null,
        (e: unknown) => e,
      );
      expect(hasCode(error, 'embedded_database')).toBe(true);
      expect((error as Error).message).toContain(`port ${port}`);
      expect((error as Error).message).toContain('EADDRINUSE');
      expect((error as Error).message).toContain('MONGODB_URI');
      expect((error as Error).message).not.toContain('\n');
    } finally {
      squatter.close();
    }
  });
});
