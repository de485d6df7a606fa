/**
 * The goal-vs-sub-command rule of parseRequest, by example: a sub-command is its word alone (or
 * `cancel` with one link or id); a lone unknown word answers with the usage; anything else is a goal.
 */
import { describe, expect, it } from 'vitest';
import { CANCEL_NEEDS_REFERENCE, PLANNING_STARTED, USAGE } from '../../../src/blocks/replies.js';
import { parseOrchestrationRef } from '../../../src/engine/usecases/orchestrationRef.js';
import { parseRequest } from '../../../src/engine/usecases/request.js';

const ID = '65f1c2d3e4a5b6c7d8e9f0a1';

describe('parseRequest: sub-commands', () => {
  it('reads each sub-command as its word alone, in any case', () => {
    expect(parseRequest('help')).toEqual({ kind: 'answer', text: USAGE });
    expect(parseRequest('agents')).toEqual({ kind: 'agents' });
    expect(parseRequest(' Agents ')).toEqual({ kind: 'agents' });
    expect(parseRequest('status')).toEqual({ kind: 'status' });
    expect(parseRequest('STATUS')).toEqual({ kind: 'status' });
  });

  it('reads cancel with an id or a link to the proposal message', () => {
    expect(parseRequest(`cancel ${ID}`)).toEqual({ kind: 'cancel', ref: { kind: 'id', id: ID } });
    expect(parseRequest(`Cancel ${ID.toUpperCase()}`)).toEqual({ kind: 'cancel', ref: { kind: 'id', id: ID } });
    const link = 'https://acme.slack.com/archives/C0123ABCD/p1700000000000100';
    const ref = { kind: 'message', channelId: 'C0123ABCD', messageTs: '1700000000.000100' };
    expect(parseRequest(`cancel ${link}`)).toEqual({ kind: 'cancel', ref });
    // As Slack sends a link it formatted, entities included.
    expect(parseRequest(`cancel &lt;${link}&gt;`)).toEqual({ kind: 'cancel', ref });
  });

  it('asks which one for cancel alone, and refuses what is neither an id nor a link', () => {
    expect(parseRequest('cancel')).toEqual({ kind: 'answer', text: CANCEL_NEEDS_REFERENCE });
    const bad = parseRequest('cancel 65f1c2d3');
    expect(bad.kind).toBe('answer');
    expect(bad.kind === 'answer' && bad.text).toMatch(
      /is neither a link to a proposal message nor an orchestration id/,
    );
  });

  it('answers a lone unknown word with the usage, naming the word', () => {
    for (const word of ['agent', 'stats', 'brainstorm', 'list']) {
      const parsed = parseRequest(word);
      expect(parsed.kind).toBe('answer');
      if (parsed.kind !== 'answer') continue;
      expect(parsed.text).toContain(`\`${word}\` is not a command Orchestrate knows.`);
      expect(parsed.text).toContain(USAGE);
    }
  });

  it('lists every sub-command in the usage', () => {
    for (const line of [
      '/orchestrate <goal>',
      '/orchestrate status',
      '/orchestrate cancel <link or id>',
      '/orchestrate agents',
      '/orchestrate help',
    ]) {
      expect(USAGE).toContain(line);
    }
  });
});

describe('parseRequest: goals that start with a sub-command word', () => {
  it.each([
    'status of the EU launch: write a brief',
    'Status report for the board, one page',
    'agents of change: a history of our product team',
    'help me write a launch plan',
    'cancel the Q3 offsite and draft the apology email',
    'cancel culture in open source: a balanced essay',
    'agents status',
  ])('"%s" is a goal', (text) => {
    expect(parseRequest(text)).toEqual({ kind: 'goal', goal: text, ack: PLANNING_STARTED });
  });

  it('keeps a long single-token goal a goal, measured against the limit', () => {
    expect(parseRequest('x'.repeat(3000)).kind).toBe('goal');
  });
});

describe('parseOrchestrationRef', () => {
  it('takes a reply link for its thread: the proposal message is the thread parent', () => {
    const link =
      'https://acme.slack.com/archives/C0123ABCD/p1700000005000200?thread_ts=1700000000.000100&cid=C0123ABCD';
    expect(parseOrchestrationRef(link)).toEqual({
      kind: 'message',
      channelId: 'C0123ABCD',
      messageTs: '1700000000.000100',
    });
  });

  it('takes a labelled link and an enterprise host', () => {
    const link = '<https://acme.enterprise.slack.com/archives/G0123ABCD/p1700000000123456|the proposal>';
    expect(parseOrchestrationRef(link)).toEqual({
      kind: 'message',
      channelId: 'G0123ABCD',
      messageTs: '1700000000.123456',
    });
  });

  it('refuses other links and near-ids', () => {
    for (const token of [
      'https://acme.slack.com/archives/C0123ABCD',
      'http://acme.slack.com/archives/C0123ABCD/p1700000000000100',
      'https://example.com/p1700000000000100',
      '65f1c2d3e4a5b6c7d8e9f0a',
      '65f1c2d3e4a5b6c7d8e9f0a1z',
    ]) {
      expect(parseOrchestrationRef(token)).toBeNull();
    }
  });
});
