/**
 * Add context (usecases/addContext.ts) through the fake Slack over HTTP and the embedded database:
 * who may add, files fetched with the bot token and read, every unreadable file named in the form
 * with nothing stored, and what is stored as the next revision for the steps to read.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeControlValue } from '../../../src/blocks/actionIds.js';
import { ContextIds } from '../../../src/blocks/contextIds.js';
import { contextLine } from '../../../src/blocks/contextModal.js';
import { contextSection } from '../../../src/engine/llm/stepContext.js';
import type { OrchestrationId } from '../../../src/engine/plan/ids.js';
import { addContextModalFor, type ContextForm, submitContext } from '../../../src/engine/usecases/addContext.js';
import { editByClick } from '../../../src/engine/usecases/editPlan.js';
import type { Services } from '../../../src/services.js';
import { FakeSlack, type SharedFileSpec } from '../../fakes/fakeSlack.js';
import { minimalPdf } from '../../helpers/pdf.js';
import { APPROVER, clickOn, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

const TOKEN = 'xoxb-test-token';
const BLOCKS = { files: ContextIds.files.block, notes: ContextIds.notes.block };
// Generous: these tests are about what is read, not about how fast (the default is 2 s).
const OPTIONS = { readDeadlineMs: 30_000 };

const fake = new FakeSlack({ botToken: TOKEN });
let slack: WebClient;

beforeAll(async () => {
  await fake.start();
  slack = new WebClient(TOKEN, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
});
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const upload = (spec: SharedFileSpec) => {
  const file = fake.registerFile(spec);
  return { id: file.id, name: file.name };
};
const form = (files: ContextForm['files'], notes = ''): ContextForm => ({ files, notes });
const submit = (services: Services, id: OrchestrationId, f: ContextForm, userId = REQUESTER, revision = 1) =>
  submitContext(services, slack, clickOn(id, revision, { userId }), f, BLOCKS, OPTIONS);

const onePagePdf = (content: string) => minimalPdf([content]);
const textPdf = (line: string) => onePagePdf(`BT /F1 12 Tf 72 720 Td (${line}) Tj ET`);
/** Only a 2×2 grey image: a scan, to a text extractor. */
const imagePdf = () => onePagePdf('q 200 0 0 200 72 500 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x80\x40\x20\xff EI Q');

const brief = () => upload({ name: 'brief.txt', bytes: 'Launch in Q3. Budget is 40k.' });
const interviews = () =>
  upload({ name: 'interviews.md', mimetype: 'text/markdown', bytes: '# Interviews\n\n- Acme wants offline mode' });
const prices = () => upload({ name: 'prices.csv', mimetype: 'text/csv', bytes: 'vendor,price\nOtter,16.99\n' });
const report = () =>
  upload({
    name: 'report.pdf',
    mimetype: 'application/pdf',
    bytes: textPdf('Revenue grew 12% in 2024'),
  });

describe('addContextModalFor', () => {
  it('opens the form for the requester, with the plan in its metadata and a file input', async () => {
    const { services } = makeServices();
    const id = await seed();
    const outcome = await addContextModalFor(services, clickOn(id, 1));
    if (!outcome.ok) throw new Error(outcome.reply.text);
    expect(outcome.view.callback_id).toBe(ContextIds.modal);
    expect(decodeControlValue(outcome.view.private_metadata)).toEqual({ orchestrationId: id, revision: 1 });
    const input = outcome.view.blocks.find((b) => b.block_id === ContextIds.files.block);
    expect(input).toMatchObject({ type: 'input', element: { type: 'file_input', action_id: ContextIds.files.action } });
  });

  it('refuses a stranger and a plan that is no longer proposed', async () => {
    const { services } = makeServices();
    const id = await seed();
    const stranger = await addContextModalFor(services, clickOn(id, 1, { userId: STRANGER }));
    expect(stranger).toMatchObject({ ok: false, reply: { text: expect.stringContaining(`Only <@${REQUESTER}>`) } });
    const approved = await seed({ status: 'approved' });
    expect(await addContextModalFor(services, clickOn(approved, 1))).toMatchObject({ ok: false });
  });
});

describe('submitContext', () => {
  it('stores readable files and a note as revision 2, fetched with the bot token, and redraws', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const files = [brief(), interviews(), prices(), report()];
    expect(await submit(services, id, form(files, 'The CFO prefers annual pricing.'), APPROVER)).toBeNull();

    const doc = await load(id);
    expect(doc.revision).toBe(2);
    const context = doc.context!;
    expect(context.files.map((f) => f.name)).toEqual(['brief.txt', 'interviews.md', 'prices.csv', 'report.pdf']);
    expect(context.files.every((f) => !f.truncated && f.chars > 0)).toBe(true);
    expect(context.notes).toEqual(['The CFO prefers annual pricing.']);
    for (const text of [
      'Launch in Q3',
      'Acme wants offline mode',
      'Otter,16.99',
      'Revenue grew 12% in 2024',
      'annual pricing',
    ])
      expect(context.text).toContain(text);
    expect(context).toMatchObject({ by: APPROVER });
    expect(doc.history.at(-1)).toMatchObject({ revision: 2, by: APPROVER, context: { text: context.text } });
    expect(doc.history.at(-1)!.change).toBe(
      'added context: "brief.txt", "interviews.md", "prices.csv", "report.pdf" and a note',
    );
    expect(doc.proposal).toEqual(doc.history[0]!.proposal);
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);

    const downloads = fake.callsTo('files.download');
    expect(downloads).toHaveLength(4);
    expect(downloads.every((c) => c.args._auth === TOKEN && c.status === 200)).toBe(true);
    expect(contextLine(context)).toBe(
      `*Context:* 4 files, 1 note (${context.text.length.toLocaleString('en-US')} characters)`,
    );
  });

  it('gives every step the files by name, fenced as material people added', async () => {
    const { services } = makeServices();
    const id = await seed();
    await submit(services, id, form([report()]));
    const section = contextSection((await load(id)).context);
    expect(section).toContain('## Material people added to this plan');
    expect(section).toMatch(/- report\.pdf: \d+ characters/);
    expect(section).toContain('Revenue grew 12% in 2024');
    expect(section.indexOf('<added_context>')).toBeLessThan(section.indexOf('Revenue grew'));
    expect(contextSection(null)).toBe('');
  });

  it('refuses a stranger in the form, and fetches nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const errors = await submit(services, id, form([brief()], 'notes'), STRANGER);
    expect(errors).toEqual({
      [BLOCKS.files]: 'Only the requester (who asked for this) or an approver can do that. Nothing was changed.',
    });
    expect(fake.callsTo('files.info')).toHaveLength(0);
    expect((await load(id)).context ?? null).toBeNull();
    expect(engine.redraw).not.toHaveBeenCalled();
  });

  it('refuses once the plan is approved', async () => {
    const { services } = makeServices();
    const id = await seed({ status: 'approved' });
    const errors = await submit(services, id, form([], 'a note'));
    expect(errors?.[BLOCKS.files]).toMatch(/only be added while the plan is proposed/);
    expect((await load(id)).revision).toBe(1);
  });

  it('names every unreadable file in the form and stores nothing, not even the readable ones', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const scan = upload({ name: 'scan.pdf', mimetype: 'application/pdf', bytes: imagePdf() });
    const image = upload({ name: 'photo.png', mimetype: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
    const errors = await submit(services, id, form([brief(), scan, image], 'a note'));
    const message = errors?.[BLOCKS.files] ?? '';
    expect(message).toContain('"scan.pdf" has no text layer');
    expect(message).toContain('"photo.png": .png files cannot be read');
    expect(message).not.toContain('brief.txt');
    expect(message).toContain('Nothing was added, the readable file included.');
    const doc = await load(id);
    expect(doc.revision).toBe(1);
    expect(doc.context ?? null).toBeNull();
    expect(doc.history).toHaveLength(1);
    expect(engine.redraw).not.toHaveBeenCalled();
    // The image was refused from its details alone: its bytes were never fetched.
    expect(fake.callsTo('files.download').map((c) => c.args._fileId)).not.toContain(image.id);
  });

  it('names a file Slack refuses to hand over, one too big, one sent off Slack, and a sign-in page', async () => {
    const { services } = makeServices();
    const id = await seed();
    const refused = upload({ name: 'secret.txt', bytes: 'x', download: { status: 403 } });
    const huge = upload({ name: 'dump.csv', mimetype: 'text/csv', bytes: 'a,b\n', size: 20 * 1024 * 1024 });
    const away = upload({
      name: 'away.md',
      bytes: '# x',
      download: { redirectTo: 'https://files.example.com/away.md' },
    });
    const login = upload({ name: 'login.txt', bytes: '<html>Sign in</html>', download: { contentType: 'text/html' } });
    const message = (await submit(services, id, form([refused, huge, away, login])))?.[BLOCKS.files] ?? '';
    expect(message.split('\n')).toEqual([
      '"secret.txt" could not be downloaded: Slack refused the app access to it (HTTP 403).',
      '"dump.csv" is 20.0 MB, over the 10.0 MB limit for one file.',
      '"away.md" could not be fetched: its download leads to files.example.com, which is not Slack\'s file host.',
      '"login.txt" could not be downloaded: Slack answered with its sign-in page instead of the file.',
    ]);
    expect(message).not.toContain(TOKEN);
    expect(fake.callsTo('files.download').map((c) => c.args._fileId)).not.toContain(huge.id);
    expect((await load(id)).revision).toBe(1);
  });

  it('follows a redirect on Slack’s own host', async () => {
    const { services } = makeServices();
    const id = await seed();
    const moved = upload({ name: 'moved.txt', bytes: 'Moved but here.', download: { redirects: 2 } });
    expect(await submit(services, id, form([moved]))).toBeNull();
    expect((await load(id)).context?.text).toContain('Moved but here.');
    expect(fake.callsTo('files.download').map((c) => c.args.hop)).toEqual([0, 1, 2]);
  });

  it('names a file Slack no longer has', async () => {
    const { services } = makeServices();
    const id = await seed();
    const errors = await submit(services, id, form([{ id: 'F404', name: 'gone.txt' }]));
    expect(errors?.[BLOCKS.files]).toBe('"gone.txt" could not be fetched: Slack says the file no longer exists.');
  });

  it('asks for something when the form is empty', async () => {
    const { services } = makeServices();
    const id = await seed();
    expect(await submit(services, id, form([], '   '))).toEqual({ [BLOCKS.files]: 'Add a file, or paste some notes.' });
  });

  it('adds to what is there, on top of an edit made while the form was open', async () => {
    const { services } = makeServices();
    const id = await seed();
    expect(await submit(services, id, form([brief()]))).toBeNull();
    expect(await editByClick(services, clickOn(id, 2), 'toggleDiscussion')).toBeNull();
    // The form was opened on revision 2; the plan is at 3 when it is sent.
    expect(await submit(services, id, form([prices()], 'Second thoughts.'), REQUESTER, 2)).toBeNull();
    const doc = await load(id);
    expect(doc.revision).toBe(4);
    expect(doc.proposal!.discussion.enabled).toBe(false);
    expect(doc.context!.files.map((f) => f.name)).toEqual(['brief.txt', 'prices.csv']);
    expect(doc.context!.notes).toEqual(['Second thoughts.']);
    expect(doc.context!.text.indexOf('Launch in Q3')).toBeLessThan(doc.context!.text.indexOf('Otter'));
    expect(doc.history.map((h) => h.change).slice(1)).toEqual([
      'added context: "brief.txt"',
      'toggled discussion',
      'added context: "prices.csv" and a note',
    ]);
  });

  it('keeps everything within the configured bound, cutting the long file rather than the short note', async () => {
    const { services } = makeServices();
    const bounded = {
      ...services,
      config: { ...services.config, tools: { ...services.config.tools, contextMaxChars: 1000 } },
    };
    const id = await seed();
    const long = upload({ name: 'long.txt', bytes: 'word '.repeat(2000) });
    expect(await submit(bounded, id, form([long], 'Keep this note whole.'))).toBeNull();
    const context = (await load(id)).context!;
    expect(context.text.length).toBeLessThanOrEqual(1000);
    expect(context.files).toEqual([{ name: 'long.txt', chars: expect.any(Number), truncated: true }]);
    expect(context.text).toContain('Keep this note whole.');
    expect(contextLine(context)).toMatch(/^\*Context:\* 1 file, 1 note \([\d,]+ characters, some cut to fit\)$/);
  });

  it('names a file that cannot be read before the form must be answered, and stores nothing', async () => {
    const { services } = makeServices();
    const id = await seed();
    const slow = upload({ name: 'slow.txt', bytes: 'late', download: { redirects: 1 } });
    const errors = await submitContext(services, slack, clickOn(id, 1), form([slow]), BLOCKS, { readDeadlineMs: 0 });
    expect(errors?.[BLOCKS.files]).toMatch(
      /^"slow\.txt" (could not be read within 0 seconds|took too long to download)/,
    );
    expect((await load(id)).revision).toBe(1);
  });
});
