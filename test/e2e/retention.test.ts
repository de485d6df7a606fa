/** Retention as deployed: ORCHESTRATE_RETENTION_DAYS schedules one daily purge job; unset, nothing is ever deleted. */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const retentionJobs = (harness: Harness) => harness.service.engine.agenda.queryJobs({ name: 'orchestrate.retention' });

describe('retention', () => {
  it('schedules one daily purge when ORCHESTRATE_RETENTION_DAYS is set, and none when it is not', async () => {
    h = await startHarness();
    expect((await retentionJobs(h)).jobs).toHaveLength(0);
    await h.stop();

    h = await startHarness({ ORCHESTRATE_RETENTION_DAYS: '30' });
    const { jobs } = await retentionJobs(h);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.repeatInterval).toBe('1 day');
  });
});
