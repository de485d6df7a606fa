/**
 * The roster: agents seeded as the roster plus earlier hires, one per name (a seeded agent wins
 * over a hire of the same name, else the latest hire). Retired agents are left out, so that no plan
 * is offered them again. Bounded, so that neither a planning prompt nor a form grows with every run
 * ever made.
 */
import type { Types } from 'mongoose';
import { Agent, type AgentDoc } from '../../models/agent.js';

/** Hires considered at all: the most recent ones. Seeded agents are always considered. */
const RECENT_HIRES = 500;
/** Agents the CEO agent is shown when it plans: what fits a prompt comfortably. */
export const PLANNING_ROSTER_SIZE = 30;

/** A roster agent, and every stored agent of its name the roster considered (hires repeat a name per run). */
export interface RosterEntry {
  agent: AgentDoc;
  namesakeIds: Types.ObjectId[];
}

export interface RosterOptions {
  /**
   * Also the retired: for resolving a plan approved before its agent was retired. Nothing that
   * offers agents to a plan passes it.
   */
  includeRetired?: boolean;
}

/** The roster, by name, with the namesakes each entry stands for. */
export async function rosterEntries(options: RosterOptions = {}): Promise<RosterEntry[]> {
  // A retired agent stays stored, for the runs that name it; null also matches agents stored before retirement existed.
  const serving = options.includeRetired ? {} : { retiredAt: null };
  const [seeded, hires] = await Promise.all([
    Agent.find({ origin: 'roster', ...serving })
      .sort({ createdAt: 1 })
      .lean<AgentDoc[]>(),
    Agent.find({ origin: 'hire', ...serving })
      .sort({ createdAt: -1 })
      .limit(RECENT_HIRES)
      .lean<AgentDoc[]>(),
  ]);
  const byName = new Map<string, RosterEntry>();
  for (const agent of [...hires.reverse(), ...seeded]) {
    const key = agent.name.toLowerCase();
    const seen = byName.get(key);
    if (!seen) byName.set(key, { agent, namesakeIds: [agent._id] });
    else {
      seen.namesakeIds.push(agent._id);
      if (seen.agent.origin !== 'roster') seen.agent = agent;
    }
  }
  return [...byName.values()].sort((a, b) => a.agent.name.localeCompare(b.agent.name));
}

export async function rosterAgents(options: RosterOptions = {}): Promise<AgentDoc[]> {
  return (await rosterEntries(options)).map((entry) => entry.agent);
}

type MaybeRetired = Partial<Pick<AgentDoc, 'retiredAt'>>;
const isServing = (agent: MaybeRetired) => !agent.retiredAt;

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]{3,}/g) ?? []);

/**
 * The agents the CEO agent is shown for `goal`: the most relevant (words shared between the goal
 * and the agent's title and skills), then the most recent, at most `limit`, by name. Never a retired one.
 */
export function planningRoster<A extends Pick<AgentDoc, 'name' | 'title' | 'skills' | 'createdAt'> & MaybeRetired>(
  agents: readonly A[],
  goal: string,
  limit = PLANNING_ROSTER_SIZE,
): A[] {
  const wanted = words(goal);
  const score = (a: A) => [...words(`${a.title} ${a.skills.join(' ')}`)].filter((w) => wanted.has(w)).length;
  return agents
    .filter(isServing)
    .map((agent) => ({ agent, score: score(agent), at: new Date(agent.createdAt).getTime() }))
    .sort((a, b) => b.score - a.score || b.at - a.at)
    .slice(0, limit)
    .map((x) => x.agent)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The agents a Swap role select can offer (Slack shows at most 100 options, one of which is
 * "a new hire"): the role's current agent, then the seeded roster, then the latest hires;
 * shown by name. Never a retired one, even when it is the role's current agent.
 */
export function rosterChoices<A extends Pick<AgentDoc, 'name' | 'origin' | 'createdAt'> & MaybeRetired>(
  agents: readonly A[],
  current: string | null,
  limit = 99,
): A[] {
  const isCurrent = (a: A) => current !== null && a.name.toLowerCase() === current.trim().toLowerCase();
  const rank = (a: A) => (isCurrent(a) ? 0 : a.origin === 'roster' ? 1 : 2);
  const chosen = agents
    .filter(isServing)
    .sort((a, b) => rank(a) - rank(b) || new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())
    .slice(0, limit);
  return chosen.sort((a, b) => a.name.localeCompare(b.name));
}
