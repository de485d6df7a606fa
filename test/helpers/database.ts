/** The embedded database for a test file: started once, connected with mongoose, and `clear` run before each test. */
import mongoose from 'mongoose';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';

export function useEmbeddedDatabase(clear: () => Promise<unknown>): void {
  let mongo: EmbeddedServer | undefined;
  beforeAll(async () => {
    mongo = await startEmbeddedMongo();
    await mongoose.connect(mongo.uri);
  });
  afterAll(async () => {
    await mongoose.disconnect();
    await mongo?.stop();
  });
  beforeEach(clear);
}
