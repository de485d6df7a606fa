/**
 * Saved plans in the database: saving an approved plan under a name (claimed by one conditional
 * upsert, since the embedded database does not enforce unique indexes), finding and listing them
 * with what their runs cost, and turning `/orchestrate use <name> <values>` into a goal and a plan.
 */
import { Types } from 'mongoose';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Template, type TemplateDoc } from '../../models/template.js';
import { parseOrchestrationId } from '../plan/ids.js';
import type { Proposal } from '../plan/proposal.js';
import type { OrchestrationStatus } from '../plan/status.js';
import type { ValidationContext } from '../plan/validate.js';
import { instantiate, markParameters, parseUseArguments } from './pattern.js';

/** A saved plan's name: what people type after `/orchestrate use`. */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** The longest description a saved plan keeps. */
export const MAX_DESCRIPTION_CHARS = 300;
/** A plan people approved; a failed or cancelled one may never have been, and a proposed one is not yet. */
export const SAVABLE_STATUSES: readonly OrchestrationStatus[] = ['approved', 'executing', 'synthesizing', 'completed'];
/** The typical cost is read from the latest completed runs: models and prices change. */
const TYPICAL_OF_LATEST = 25;
const TYPICAL_NEEDS = 3;

/** What the Save as template form gives `saveTemplate`. */
export interface SaveTemplateInput {
  teamId: string | null;
  name: string;
  description: string;
  orchestrationId: string;
  /** Each parameter's name and the exact part of the goal it stands for. */
  marks: Record<string, string>;
  by: string;
}

/** The stored template, or a sentence saying why not. */
export type SaveTemplateResult = { ok: true; template: TemplateDoc } | { ok: false; error: string };

/** A saved plan as listed, with how it has been used. */
export interface TemplateSummary extends TemplateDoc {
  /** Orchestrations made from it, whatever became of them. */
  runs: number;
  /** The median spend of its latest completed runs; null until it has three. */
  typicalUsd: number | null;
}

/** The goal and plan to start an orchestration with (and the template to record on it), or a sentence. */
export type FromTemplate =
  | { ok: true; goal: string; proposal: Proposal; templateId: string }
  | { ok: false; error: string };

/** The name as stored: trimmed and lowercased, so that "Weekly-Report" finds "weekly-report". */
export const normalizeTemplateName = (name: string) => name.trim().toLowerCase();

/** How to use a saved plan, for replies: `/orchestrate use weekly company="…"`. */
export function usageOf(template: Pick<TemplateDoc, 'name' | 'params'>): string {
  return ['/orchestrate use', template.name, ...template.params.map((p) => `${p.name}="…"`)].join(' ');
}

/** The proposal as it was approved: the approved revision's, else the current one. */
function approvedProposal(doc: OrchestrationDoc): Proposal | null {
  return doc.history.find((h) => h.revision === doc.approvedRevision)?.proposal ?? doc.proposal;
}

const isDuplicateKey = (error: unknown) => (error as { code?: unknown } | null)?.code === 11000;

/** Saves an approved orchestration's plan under a name unique in the team; every refusal is a sentence. */
export async function saveTemplate(input: SaveTemplateInput): Promise<SaveTemplateResult> {
  const name = normalizeTemplateName(input.name);
  if (!TEMPLATE_NAME.test(name))
    return {
      ok: false,
      error:
        'A saved plan needs a short name in lowercase letters, digits, "-" or "_" (at most 40), such as weekly-report.',
    };
  const description = input.description.trim();
  if (description.length > MAX_DESCRIPTION_CHARS)
    return { ok: false, error: `Keep the description under ${MAX_DESCRIPTION_CHARS} characters.` };
  const id = parseOrchestrationId(input.orchestrationId);
  const doc = id ? await Orchestration.findById(id).lean<OrchestrationDoc>() : null;
  if (!doc || (input.teamId !== null && doc.slackTeamId !== null && doc.slackTeamId !== input.teamId))
    return { ok: false, error: 'That orchestration was not found.' };
  const proposal = approvedProposal(doc);
  if (!SAVABLE_STATUSES.includes(doc.status) || doc.approvedRevision === null || !proposal)
    return { ok: false, error: `Only an approved plan can be saved, and this one is ${doc.status}.` };
  const marked = markParameters(doc.goal, input.marks);
  if (!marked.ok) return marked;
  const check = instantiate(
    { ...marked, proposal },
    Object.fromEntries(marked.params.map((p) => [p.name, p.original])),
  );
  if (!check.ok) return { ok: false, error: `This plan cannot be saved: ${check.violations.slice(0, 3).join('; ')}` };

  // Ours if the document that comes back carries the _id we offered: an upsert that found one did not insert.
  const _id = new Types.ObjectId();
  const taken = { ok: false as const, error: `There is already a saved plan named ${name}; choose another name.` };
  try {
    const stored = await Template.findOneAndUpdate(
      { slackTeamId: input.teamId, name },
      {
        $setOnInsert: {
          _id,
          slackTeamId: input.teamId,
          name,
          description,
          goalPattern: marked.goalPattern,
          params: marked.params,
          proposal,
          sourceOrchestrationId: doc._id,
          createdBy: input.by,
        },
      },
      { upsert: true, returnDocument: 'after' },
    ).lean<TemplateDoc>();
    return stored?._id.equals(_id) ? { ok: true, template: stored } : taken;
  } catch (error) {
    if (isDuplicateKey(error)) return taken;
    throw error;
  }
}

/** The team's saved plan of that name (any case), or null. */
export async function findTemplate(teamId: string | null, name: string): Promise<TemplateDoc | null> {
  return Template.findOne({ slackTeamId: teamId, name: normalizeTemplateName(name) }).lean<TemplateDoc>();
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type RunRow = Pick<OrchestrationDoc, 'templateId' | 'status' | 'budget' | 'createdAt'>;

/** The team's saved plans by name, each with how often it ran and what a completed run typically cost. */
export async function listTemplates(teamId: string | null): Promise<TemplateSummary[]> {
  const templates = await Template.find({ slackTeamId: teamId }).sort({ name: 1 }).lean<TemplateDoc[]>();
  if (!templates.length) return [];
  const rows = await Orchestration.find(
    { templateId: { $in: templates.map((t) => t._id) } },
    { templateId: 1, status: 1, 'budget.spentUsd': 1, createdAt: 1 },
  ).lean<RunRow[]>();
  return templates.map((template) => {
    const mine = rows.filter((r) => r.templateId?.equals(template._id));
    const completed = mine
      .filter((r) => r.status === 'completed')
      .sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())
      .slice(0, TYPICAL_OF_LATEST)
      .map((r) => r.budget?.spentUsd ?? 0);
    return {
      ...template,
      runs: mine.length,
      typicalUsd: completed.length >= TYPICAL_NEEDS ? median(completed) : null,
    };
  });
}

/**
 * The goal and plan `/orchestrate use <name> <arguments>` asks for, validated (against today's
 * roster, tools and models when `context` gives them), or a sentence saying what to fix.
 */
export async function proposalFromTemplate(
  teamId: string | null,
  name: string,
  argumentsText: string,
  context: ValidationContext = {},
): Promise<FromTemplate> {
  const template = await findTemplate(teamId, name);
  if (!template) {
    const saved = await Template.find({ slackTeamId: teamId }, { name: 1 })
      .sort({ name: 1 })
      .limit(20)
      .lean<{ name: string }[]>();
    const known = saved.length ? ` Saved plans: ${saved.map((t) => t.name).join(', ')}.` : ' No plan is saved yet.';
    return { ok: false, error: `There is no saved plan named ${normalizeTemplateName(name) || '(none)'}.${known}` };
  }
  return fromTemplate(template, argumentsText, context);
}

/** The same, for a template already loaded. */
export function fromTemplate(
  template: TemplateDoc,
  argumentsText: string,
  context: ValidationContext = {},
): FromTemplate {
  const args = parseUseArguments(
    argumentsText,
    template.params.map((p) => p.name),
  );
  if (!args.ok) return { ok: false, error: `${args.error} Use: ${usageOf(template)}` };
  const made = instantiate(template, args.values, context);
  if (!made.ok)
    return {
      ok: false,
      error: `${template.name} cannot be planned with those values: ${made.violations.slice(0, 3).join('; ')}`,
    };
  return { ok: true, goal: made.goal, proposal: made.proposal, templateId: template._id.toString() };
}
