/**
 * Add context: the requester or an approver attaches files and notes to a plan under review. Every
 * file is fetched from Slack and read; if any cannot be, the form names it and nothing is stored.
 * Otherwise the text is kept with the plan as its next revision, and the proposal is redrawn.
 */

import type { WebClient } from '@slack/web-api';
import { type ContextLimits, contextModal } from '../../blocks/contextModal.js';
import { notEditable } from '../../blocks/replies.js';
import { Orchestration, type OrchestrationDoc, type PlanContext } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { extractText, FILE_MAX_BYTES, shownName } from '../context/fileText.js';
import { fetchSlackFile } from '../context/slackFiles.js';
import { approversHere } from '../install/approvers.js';
import { type ContextItem, composeContext } from '../llm/stepContext.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { HISTORY_KEPT } from '../review/revise.js';
import { loadOrchestration } from '../run/transition.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, checkClick, type FormErrors, text } from './guard.js';

/** Files one submission may carry. */
export const MAX_FILES = 5;
/** Files fetched and read at once. */
const PARALLEL_READS = 3;
/**
 * Slack closes a form that is not answered within 3 seconds, and an error can only be shown in
 * that answer: reading stops here, leaving room for the checks before and the answer after.
 */
export const READ_DEADLINE_MS = 2000;
/** Additions racing each other or an edit are rebased and tried again this many times. */
const SAVE_ATTEMPTS = 3;
/** Slack shows a field's error in a few lines: longer lists are cut. */
const ERROR_MAX_CHARS = 1500;

export interface ContextForm {
  /** The files of the file_input, as the submission lists them; each is looked up again with files.info. */
  files: ReadonlyArray<{ id: string; name?: string }>;
  notes: string;
}

/** Where each error shows: the file input, and the notes field. */
export interface ContextBlocks {
  files: string;
  notes: string;
}

export interface ContextOptions {
  /** READ_DEADLINE_MS unless said; tests on a slow machine give more. */
  readDeadlineMs?: number;
}

export function contextLimits(services: Services): ContextLimits {
  return { maxFiles: MAX_FILES, maxFileBytes: FILE_MAX_BYTES, maxChars: services.config.tools.contextMaxChars };
}

/** The form Add context opens, or why it cannot open. */
export async function addContextModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  // Context does not depend on the plan's content: a button drawn for an older revision still opens it.
  const checked = await checkClick(services, click, { requireCurrentRevision: false });
  if (!checked.ok) return checked;
  const { doc } = checked;
  if (doc.status !== 'proposed') return { ok: false, reply: text(notEditable(doc.status)) };
  const meta = {
    orchestrationId: orchestrationIdOf(doc),
    revision: doc.revision,
    ...(click.responseUrl ? { responseUrl: click.responseUrl } : {}),
  };
  return { ok: true, view: contextModal(meta, doc.context ?? null, contextLimits(services)) };
}

type Read = { ok: true; item: ContextItem } | { ok: false; reason: string };

/** Runs `work` on every entry, at most `limit` at once, keeping the order. */
async function inPool<T, R>(entries: readonly T[], limit: number, work: (entry: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      results[i] = await work(entries[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, entries.length) }, worker));
  return results;
}

async function readFile(
  slack: WebClient,
  file: { id: string; name?: string },
  maxChars: number,
  signal: AbortSignal,
): Promise<Read> {
  const fetched = await fetchSlackFile(slack, file.id, { ...(file.name ? { name: file.name } : {}), signal });
  if (!fetched.ok) return { ok: false, reason: fetched.reason };
  const read = await extractText(fetched, { maxChars, signal });
  if (!read.ok) return read;
  return { ok: true, item: { kind: 'file', name: fetched.name, text: read.text, truncated: read.truncated } };
}

/**
 * Every file read, or the reason it was not. A file still being read at the deadline is named as
 * too slow: the form must be answered, and storing half of what was sent would drop the rest unseen.
 */
async function readAll(
  slack: WebClient,
  files: ContextForm['files'],
  maxChars: number,
  deadlineMs: number,
): Promise<Read[]> {
  const controller = new AbortController();
  const results: Array<Read | undefined> = files.map(() => undefined);
  const seconds = `${Math.round(deadlineMs / 100) / 10} seconds`;
  const late = (file: { id: string; name?: string }): Read => ({
    ok: false,
    reason:
      `${shownName(file.name ?? file.id)} could not be read within ${seconds} (Slack closes a form after 3). ` +
      'Add it on its own, or paste the part that matters in the notes.',
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve();
    }, deadlineMs);
  });
  const indexed = files.map((file, i) => ({ file, i }));
  const all = inPool(indexed, PARALLEL_READS, async ({ file, i }) => {
    results[i] = await readFile(slack, file, maxChars, controller.signal).catch(
      (): Read => ({
        ok: false,
        reason: `${shownName(file.name ?? file.id)} could not be read: Orchestrate failed on it.`,
      }),
    );
  });
  try {
    await Promise.race([all, deadline]);
  } finally {
    clearTimeout(timer);
  }
  return results.map((r, i) => r ?? late(files[i]!));
}

function errorList(reasons: string[]): string {
  let out = '';
  for (const [i, reason] of reasons.entries()) {
    const line = `${out ? '\n' : ''}${reason}`;
    if (out.length + line.length > ERROR_MAX_CHARS)
      return `${out}\n…and ${reasons.length - i} more that cannot be read.`;
    out += line;
  }
  return out;
}

function changeOf(items: readonly ContextItem[]): string {
  const names = items.flatMap((i) => (i.kind === 'file' ? [shownName(i.name)] : []));
  const note = items.some((i) => i.kind === 'note') ? ['a note'] : [];
  const all = [...names, ...note];
  const list = all.length > 1 ? `${all.slice(0, -1).join(', ')} and ${all.at(-1)}` : (all[0] ?? 'nothing');
  return `added context: ${list}`.slice(0, 300);
}

/** The context stored as revision r+1 of the plan, compared and swapped on (proposed, r). */
async function store(id: OrchestrationId, doc: OrchestrationDoc, context: PlanContext, change: string) {
  const revision = doc.revision + 1;
  const entry = { revision, proposal: doc.proposal, change, by: context.by, at: context.at, context };
  return Orchestration.findOneAndUpdate(
    { _id: id, status: 'proposed', revision: doc.revision },
    {
      $set: { context, revision },
      $push: { history: { $each: [entry], $slice: -HISTORY_KEPT } },
    },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
}

/** Checks, reads and stores an addition: null when it was stored, else the errors to show in the form. */
export async function submitContext(
  services: Services,
  slack: WebClient,
  click: Click,
  form: ContextForm,
  blocks: ContextBlocks,
  options: ContextOptions = {},
): Promise<FormErrors | null> {
  const fail = (message: string, block = blocks.files): FormErrors => ({ [block]: message });
  const { control } = click;
  if (!control) return fail('This form is not one Orchestrate understands. Close it and click the button again.');
  let doc = await loadOrchestration(control.orchestrationId);
  if (!doc?.proposal) return fail('That orchestration no longer exists.');
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) return fail(rights.reason.replace(/<@(\w+)>/g, 'the requester'));
  if (doc.status !== 'proposed')
    return fail('Context can only be added while the plan is proposed: it was approved or closed.');

  const notes = form.notes.trim();
  if (!form.files.length && !notes) return fail('Add a file, or paste some notes.');
  if (form.files.length > MAX_FILES) return fail(`At most ${MAX_FILES} files at a time; this is ${form.files.length}.`);

  const maxChars = services.config.tools.contextMaxChars;
  const reads = await readAll(slack, form.files, maxChars, options.readDeadlineMs ?? READ_DEADLINE_MS);
  const refused = reads.flatMap((r) => (r.ok ? [] : [r.reason]));
  if (refused.length) {
    const kept = reads.length - refused.length;
    const tail = kept ? `\nNothing was added, the readable ${kept === 1 ? 'file' : 'files'} included.` : '';
    return fail(`${errorList(refused)}${tail}`);
  }
  const items: ContextItem[] = reads.flatMap((r) => (r.ok ? [r.item] : []));
  if (notes) items.push({ kind: 'note', text: notes });

  const id = orchestrationIdOf(doc);
  const change = changeOf(items);
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const composed = composeContext(doc.context, items, maxChars, click.userId, new Date());
    if (!composed.ok) return fail(composed.reason);
    if (await store(id, doc, composed.context, change)) {
      await services.engine.redraw(id);
      return null;
    }
    // Someone edited the plan or added context meanwhile: add this on top of theirs.
    doc = await loadOrchestration(id);
    if (doc?.status !== 'proposed' || !doc.proposal) {
      return fail('The plan was approved or closed while this form was open. Nothing was added.');
    }
  }
  return fail('The plan kept changing while this was saved. Nothing was added; try again.');
}
