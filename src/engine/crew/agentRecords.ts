/**
 * What each roster agent has done, from the steps it ran: the models it ran on, the tools its
 * roles were given, the runs it finished work in, and what it spent. Read for one page of the
 * roster at a time, so that the query is bounded by the page, never by the whole roster.
 */
import type { Types } from 'mongoose';
import { Orchestration } from '../../models/orchestration.js';
import { Step } from '../../models/run.js';
import { roleKit } from '../plan/choices.js';
import type { Role } from '../plan/proposal.js';
import type { RosterEntry } from './roster.js';

export interface AgentRecord {
  models: string[];
  tools: string[];
  /** Runs in which it finished at least one step. */
  runsDone: number;
  spentUsd: number;
}

/** The runs whose roles are read for an agent's tools: its most recent ones. */
const RUNS_READ_FOR_TOOLS = 20;

const EMPTY: AgentRecord = { models: [], tools: [], runsDone: 0, spentUsd: 0 };

interface RunWork {
  orchestrationId: Types.ObjectId;
  roleKeys: Array<string | null>;
}

interface AgentTotals {
  _id: Types.ObjectId;
  spentUsd: number;
  runsDone: number;
  models: Array<Array<string | null>>;
  work: RunWork[];
}

/**
 * The record of each entry (keyed by the entry's agent id): the steps of every namesake count,
 * since the roster shows one agent per name and each hire of that name worked under it.
 */
export async function agentRecords(entries: readonly RosterEntry[]): Promise<Map<string, AgentRecord>> {
  const entryOf = new Map<string, string>();
  for (const entry of entries) {
    for (const id of entry.namesakeIds) entryOf.set(String(id), String(entry.agent._id));
  }
  const ids = entries.flatMap((e) => e.namesakeIds);
  const totals = ids.length
    ? await Step.aggregate<AgentTotals>([
        { $match: { agentId: { $in: ids } } },
        // One row per agent and run first: runs are counted once, however many steps they had.
        {
          $group: {
            _id: { agentId: '$agentId', runId: '$runId' },
            orchestrationId: { $first: '$orchestrationId' },
            roleKeys: { $addToSet: '$roleKey' },
            models: { $addToSet: '$model' },
            spentUsd: { $sum: '$costUsd' },
            succeeded: { $sum: { $cond: [{ $eq: ['$status', 'succeeded'] }, 1, 0] } },
            latest: { $max: '$_id' },
          },
        },
        { $sort: { latest: -1 } },
        {
          $group: {
            _id: '$_id.agentId',
            spentUsd: { $sum: '$spentUsd' },
            runsDone: { $sum: { $cond: [{ $gt: ['$succeeded', 0] }, 1, 0] } },
            models: { $addToSet: '$models' },
            work: { $push: { orchestrationId: '$orchestrationId', roleKeys: '$roleKeys' } },
          },
        },
        { $project: { spentUsd: 1, runsDone: 1, models: 1, work: { $slice: ['$work', RUNS_READ_FOR_TOOLS] } } },
      ])
    : [];
  const toolsOf = await roleToolsOf(totals.flatMap((t) => t.work));
  const records = new Map<string, AgentRecord>();
  for (const t of totals) {
    const key = entryOf.get(String(t._id));
    if (!key) continue;
    const was = records.get(key) ?? EMPTY;
    const tools = t.work.flatMap((w) => w.roleKeys.flatMap((k) => toolsOf(String(w.orchestrationId), k)));
    records.set(key, {
      models: union(was.models, t.models.flat()),
      tools: union(was.tools, tools),
      runsDone: was.runsDone + t.runsDone,
      spentUsd: was.spentUsd + t.spentUsd,
    });
  }
  return records;
}

/** The tools of each role in these runs' plans, read once per orchestration. */
async function roleToolsOf(
  work: readonly RunWork[],
): Promise<(orchestrationId: string, roleKey: string | null) => string[]> {
  const ids = [...new Set(work.map((w) => String(w.orchestrationId)))];
  const docs = ids.length
    ? await Orchestration.find({ _id: { $in: ids } }, { 'proposal.roles': 1 }).lean<
        Array<{ _id: Types.ObjectId; proposal: { roles: Role[] } | null }>
      >()
    : [];
  const roles = new Map(docs.map((d) => [String(d._id), d.proposal?.roles ?? []]));
  return (orchestrationId, roleKey) => {
    const role = roleKey === null ? undefined : roles.get(orchestrationId)?.find((r) => r.key === roleKey);
    return role ? roleKit(role).tools : [];
  };
}

function union(a: readonly string[], b: ReadonlyArray<string | null>): string[] {
  return [...new Set([...a, ...b.filter((x): x is string => typeof x === 'string' && x.length > 0)])].sort();
}

export function recordOf(records: ReadonlyMap<string, AgentRecord>, agentId: Types.ObjectId): AgentRecord {
  return records.get(String(agentId)) ?? EMPTY;
}
