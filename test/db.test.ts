/**
 * The embedded database (used when MONGODB_URI is unset): it runs on a worker thread, answers the
 * driver, says clearly when it cannot start, and lets go of its port when stopped. A command that
 * names its documents by _id is answered from those documents alone, as a full scan would answer it.
 */
import { connect, createServer, type Server } from 'node:net';
import { type Db, MongoClient, ObjectId } from 'mongodb';
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

  it('answers commands that name their documents by _id exactly as a scan of every document does', async () => {
    const id = () => new ObjectId();
    const [a, b, c, missing, upserted] = [id(), id(), id(), id(), id()];
    const others = Array.from({ length: 20 }, id);
    // Every kind of command CongoDB filters, with _id pinned (alone, with other conditions, $in) or not.
    const script = async (db: Db) => {
      const notes = db.collection('notes');
      await notes.insertMany([
        { _id: a, status: 'pending', n: 1 },
        { _id: b, status: 'running', n: 2 },
        { _id: c, status: 'pending', n: 3 },
        ...others.map((_id, i) => ({ _id, status: 'other', n: 10 + i })),
      ]);
      const seen: unknown[] = [
        await notes.findOne({ _id: a }),
        await notes.findOne({ _id: a, status: 'running' }),
        await notes.find({ _id: { $in: [a, b, missing] } }, { sort: { n: -1 } }).toArray(),
        await notes.find({ _id: { $in: [a, a] } }).toArray(),
        await notes.findOne({ _id: missing }),
        await notes.findOneAndUpdate(
          { _id: a, status: 'pending' },
          { $set: { status: 'running' } },
          { returnDocument: 'after' },
        ),
        await notes.findOneAndUpdate({ _id: a, status: 'pending' }, { $set: { status: 'done' } }),
        await notes.findOneAndUpdate(
          { _id: upserted },
          { $setOnInsert: { status: 'made' } },
          { upsert: true, returnDocument: 'after' },
        ),
        (await notes.updateOne({ _id: b, n: 99 }, { $inc: { n: 1 } })).modifiedCount,
        (await notes.updateOne({ _id: b }, { $inc: { n: 1 } })).modifiedCount,
        (await notes.updateMany({ _id: { $in: [a, c] } }, { $set: { flag: true } })).modifiedCount,
        (await notes.deleteOne({ _id: c, status: 'running' })).deletedCount,
        (await notes.deleteOne({ _id: c })).deletedCount,
        (await db.command({ count: 'notes', query: { _id: { $in: [a, b, c] } } })).n,
        await notes.distinct('status', { _id: { $in: [a, b, upserted] } }),
        (
          await notes.bulkWrite([
            { updateOne: { filter: { _id: a }, update: { $inc: { n: 5 } } } },
            { updateOne: { filter: { status: 'other', n: 12 }, update: { $set: { status: 'picked' } } } },
          ])
        ).modifiedCount,
        await notes.find({ status: 'pending' }).toArray(),
      ];
      return { seen, after: await notes.find({}, { sort: { n: 1 } }).toArray() };
    };
    const answers = [];
    for (const scan of [true, false]) {
      const server = await startEmbeddedMongo(0, { scan });
      const client = await MongoClient.connect(server.uri);
      try {
        answers.push(await script(client.db()));
      } finally {
        await client.close();
        await server.stop();
      }
    }
    const [scanned, byId] = answers;
    expect(byId).toEqual(scanned);
    // The script checks something: the pinned commands found and changed what they named.
    expect(scanned!.after.find((d) => d._id.equals(a))).toMatchObject({ status: 'running', flag: true, n: 6 });
    expect(scanned!.after.some((d) => d._id.equals(c))).toBe(false);
  });
});
