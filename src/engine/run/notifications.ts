/**
 * How a job reaches a free worker without waiting for Agenda's poll: within one process, an
 * in-memory channel; across instances, MongoDB change streams on the jobs collection, where the
 * database supports them (a replica set or a sharded cluster; the embedded database does not).
 * Either channel can also wake this process's own queue when one of its job slots frees.
 */
import { MongoChangeStreamNotificationChannel } from '@agendajs/mongo-backend';
import { InMemoryNotificationChannel, type JobNotification, type NotificationChannel, toJobId } from 'agenda';
import type { Db } from 'mongodb';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export interface WakeableChannel extends NotificationChannel {
  /** Tells this process's queue to look for due jobs of `jobName` now (a slot freed up). */
  wake(jobName: string): void;
}

const wakeUp = (jobName: string): JobNotification => ({
  jobId: toJobId('wake'),
  jobName,
  nextRunAt: new Date(),
  priority: 0,
  timestamp: new Date(),
  source: 'wake',
});

class LocalChannel extends InMemoryNotificationChannel implements WakeableChannel {
  wake(jobName: string): void {
    if (this.state === 'connected') void this.notifyHandlers(wakeUp(jobName)).catch(() => undefined);
  }
}

class ChangeStreamChannel extends MongoChangeStreamNotificationChannel implements WakeableChannel {
  wake(jobName: string): void {
    // publish() is a no-op here (the change stream sees every write): tell this process's own handlers.
    if (this.state === 'connected') void this.notifyHandlers(wakeUp(jobName)).catch(() => undefined);
  }
}

/** True when the database can open a change stream on `collection`: asked, then tried. */
export async function supportsChangeStreams(db: Db, collection: string): Promise<boolean> {
  try {
    const hello = await db.admin().command({ hello: 1 });
    if (!hello.setName && hello.msg !== 'isdbgrid') return false;
    const stream = db.collection(collection).watch([], { maxAwaitTimeMS: 1 });
    try {
      await stream.tryNext();
    } finally {
      await stream.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** The channel for this database, said in the log: other instances' jobs start at once, or on the next poll. */
export async function notificationChannelFor(
  db: Db,
  collection: string,
  processEveryMs: number,
  logger: Logger,
): Promise<WakeableChannel> {
  if (await supportsChangeStreams(db, collection)) {
    logger.info('job queue: change streams on; a job stored by any instance starts at once');
    const channel = new ChangeStreamChannel({ db, collection });
    channel.on('error', (error: unknown) => logger.warn(`job queue change stream: ${describeError(error)}`));
    return channel;
  }
  // Polling it is: said once, since it decides how fast another instance's work starts.
  logger.info(
    `job queue: the database has no change streams (not a replica set); jobs stored by another instance start on its next poll (every ${processEveryMs} ms)`,
  );
  const channel = new LocalChannel();
  channel.on('error', (error: unknown) => logger.warn(`job queue notification: ${describeError(error)}`));
  return channel;
}
