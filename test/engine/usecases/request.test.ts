/** The /orchestrate request on its own (usecases/request.ts): reading the command, recording it, planning it. */
import { describe, expect, it } from 'vitest';
import { PLANNING_STARTED, REQUEST_NOT_RECORDED, REQUEST_QUEUED_LATE, USAGE } from '../../../src/blocks/replies.js';
import { MAX_GOAL_CHARS } from '../../../src/engine/plan/proposal.js';
import { parseRequest, startRequest } from '../../../src/engine/usecases/request.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { DEFAULT_USD, load, makeServices, REQUESTER, useDatabase } from './support.js';

useDatabase();

describe('parseRequest', () => {
  it('answers with the usage for no goal, blanks or help', () => {
    for (const text of ['', '   ', 'help', ' HELP ']) {
      expect(parseRequest(text)).toEqual({ kind: 'answer', text: USAGE });
    }
    expect(USAGE).toContain('/orchestrate <goal>');
  });

  it('refuses a goal over the limit, naming its length and the limit', () => {
    const parsed = parseRequest('x'.repeat(MAX_GOAL_CHARS + 1));
    expect(parsed.kind).toBe('answer');
    if (parsed.kind !== 'answer') return;
    expect(parsed.text).toContain('That goal is 3001 characters; the limit is 3000.');
    expect(parseRequest('x'.repeat(MAX_GOAL_CHARS)).kind).toBe('goal');
  });

  it('decodes the entities Slack sends, trims, and acknowledges with planning started', () => {
    expect(parseRequest('  Compare A &amp; B for teams &lt;10 people &gt; 2 sites ')).toEqual({
      kind: 'goal',
      goal: 'Compare A & B for teams <10 people > 2 sites',
      ack: PLANNING_STARTED,
    });
  });

  it('measures the goal as the user typed it, not as Slack encoded it', () => {
    const parsed = parseRequest('&amp;'.repeat(MAX_GOAL_CHARS));
    expect(parsed).toMatchObject({ kind: 'goal', goal: '&'.repeat(MAX_GOAL_CHARS) });
  });

  it('treats "help" inside a goal as a goal', () => {
    expect(parseRequest('help me write a launch plan')).toMatchObject({
      kind: 'goal',
      goal: 'help me write a launch plan',
    });
  });
});

describe('startRequest', () => {
  const input = {
    goal: 'Write a launch plan & a one-pager',
    userId: REQUESTER,
    channelId: 'CGENERAL',
    teamId: 'T123',
    responseUrl: 'https://hooks.example.test/commands/1',
  };

  it('stores it in planning with the default budget and enqueues planning with the response_url', async () => {
    const { services, engine } = makeServices();
    const started = await startRequest(services, input);
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const doc = await load(started.id);
    expect(doc).toMatchObject({
      status: 'planning',
      goal: input.goal,
      requesterId: REQUESTER,
      channelId: 'CGENERAL',
      slackTeamId: 'T123',
      proposal: null,
      revision: 0,
      budget: { maxUsd: DEFAULT_USD, spentUsd: 0, reservedUsd: 0, warned: false },
    });
    expect(engine.enqueuePlan).toHaveBeenCalledExactlyOnceWith(started.id, input.responseUrl);
  });

  it('says the request is recorded and will be planned shortly when planning cannot be enqueued at once', async () => {
    const { services, engine, logs } = makeServices();
    engine.enqueuePlan.mockRejectedValueOnce(new Error('queue collection unreachable'));
    const started = await startRequest(services, input);
    // The truth: it is stored as planning (the engine's sweep gives it a job), not "nothing was started".
    expect(started).toMatchObject({ ok: true, text: REQUEST_QUEUED_LATE });
    const stored = await Orchestration.findById((started as { id: string }).id).lean();
    expect(stored).toMatchObject({ status: 'planning', responseUrl: input.responseUrl });
    expect(logs.some((l) => l.includes('could not queue the planning') && l.includes('queue collection'))).toBe(true);
  });

  it('answers that nothing was recorded when the orchestration cannot be stored, and enqueues nothing', async () => {
    const { services, engine } = makeServices();
    const started = await startRequest(services, { ...input, goal: '' });
    expect(started).toEqual({ ok: false, text: REQUEST_NOT_RECORDED });
    expect(REQUEST_NOT_RECORDED).toContain('could not record your request');
    expect(engine.enqueuePlan).not.toHaveBeenCalled();
    expect(await Orchestration.countDocuments({})).toBe(0);
  });
});
