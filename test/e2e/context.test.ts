/**
 * Files as context, end to end: Add context on the proposal opens a modal; files shared in Slack
 * are downloaded with the bot token, read, stored with a new revision, and given to every step.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ContextIds } from '../../src/blocks/contextIds.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { eventually, findButton, type Harness, REQUESTER, startHarness } from '../helpers/harness.js';
import { minimalPdf } from '../helpers/pdf.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

async function openModal(harness: Harness, value: string, ts: string) {
  const before = harness.slack.callsTo('views.open').length;
  await harness.click(ContextIds.open, value, REQUESTER, ts);
  const opened = await harness.slack.waitFor(
    (c) => c.method === 'views.open' && harness.slack.callsTo('views.open').indexOf(c) >= before,
  );
  return (opened.args.view as { private_metadata: string }).private_metadata;
}

const filesValue = (ids: { id: string; name: string }[]) => ({
  [ContextIds.files.block]: { [ContextIds.files.action]: { type: 'file_input', files: ids } },
  [ContextIds.notes.block]: { [ContextIds.notes.action]: { type: 'plain_text_input', value: 'Keep it under a page.' } },
});

describe('files as context', () => {
  it('added files reach every step of the run, and the plan says what was added', async () => {
    h = await startHarness();
    const harness = h;
    const { value, ts, orchestrationId } = await harness.propose();
    const brief = harness.slack.registerFile({
      name: 'brief.md',
      mimetype: 'text/markdown',
      bytes: '# Brief\nShip by Q3.',
    });
    const pdf = harness.slack.registerFile({
      name: 'survey.pdf',
      mimetype: 'application/pdf',
      bytes: minimalPdf(['BT /F1 12 Tf 72 720 Td (Users want offline mode) Tj ET']),
    });
    const metadata = await openModal(harness, value, ts);
    const answer = await harness.submit(ContextIds.modal, metadata, filesValue([brief, pdf]));
    expect(answer.status).toBe(200);
    expect(answer.json?.response_action).toBeUndefined();
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.revision).toBe(2);
    expect(doc.context?.files.map((f) => f.name)).toEqual(['brief.md', 'survey.pdf']);
    await eventually(
      () => JSON.stringify(harness.slack.message(doc.channelId, ts)?.blocks).includes('*Context:* 2 files, 1 note'),
      5000,
      'the plan message says what was added',
    );

    harness.llm.reset();
    const current = findButton(
      { args: { blocks: harness.slack.message(doc.channelId, ts)?.blocks } } as never,
      'orchestrate.approve',
    )!.value;
    await harness.click('orchestrate.approve', current, REQUESTER, ts);
    await harness.waitForEnd(orchestrationId, 'completed');
    const steps = harness.llm.requests.filter((r) => r.toolName !== 'propose_plan');
    expect(steps.length).toBeGreaterThan(3);
    for (const r of steps) {
      expect(r.user).toContain('Ship by Q3.');
      expect(r.user).toContain('Users want offline mode');
      expect(r.user).toContain('Keep it under a page.');
    }
  });

  it('an unreadable file is refused in the modal with its name, and nothing is stored', async () => {
    h = await startHarness();
    const harness = h;
    const { value, ts, orchestrationId } = await harness.propose();
    const image = harness.slack.registerFile({
      name: 'logo.png',
      mimetype: 'image/png',
      bytes: Buffer.from([0x89, 0x50]),
    });
    const metadata = await openModal(harness, value, ts);
    const answer = await harness.submit(ContextIds.modal, metadata, filesValue([image]));
    expect(answer.json?.response_action).toBe('errors');
    const errors = answer.json?.errors ?? {};
    expect(String(errors[ContextIds.files.block])).toContain('logo.png');
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.revision).toBe(1);
    expect(doc.context ?? null).toBeNull();
  });
});
