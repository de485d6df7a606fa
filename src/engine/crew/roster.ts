/**
 * The roster: agents seeded as the roster plus earlier hires, one per name (a seeded agent wins
 * over a hire of the same name, else the latest hire). Bounded, so that neither a planning prompt
 * nor a form grows with every run ever made.
 */
import { Agent, type AgentDoc } from '../../models/agent.js';

/** Hires considered at all: the most recent ones. Seeded agents are always considered. */
const RECENT_HIRES = 500;
/** Agents the CEO agent is shown when it plans: what fits a prompt comfortably. */
export const PLANNING_ROSTER_SIZE = 30;

export async function rosterAgents(): Promise<AgentDoc[]> {
  const [seeded, hires] = await Promise.all([
    Agent.find({ origin: 'roster' }).sort({ createdAt: 1 }).lean<AgentDoc[]>(),
    Agent.find({ origin: 'hire' }).sort({ createdAt: -1 }).limit(RECENT_HIRES).lean<AgentDoc[]>(),
  ]);
  const byName = new Map<string, AgentDoc>();
  for (const agent of [...hires.reverse(), ...seeded]) {
    const key = agent.name.toLowerCase();
    const seen = byName.get(key);
    if (!seen || seen.origin !== 'roster') byName.set(key, agent);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]{3,}/g) ?? []);

/**
 * The agents the CEO agent is shown for `goal`: the most relevant (words shared between the goal
 * and the agent's title and skills), then the most recent, at most `limit`, by name.
 */
export function planningRoster<A extends Pick<AgentDoc, 'name' | 'title' | 'skills' | 'createdAt'>>(
  agents: readonly A[],
  goal: string,
  limit = PLANNING_ROSTER_SIZE,
): A[] {
  const wanted = words(goal);
  const score = (a: A) => [...words(`${a.title} ${a.skills.join(' ')}`)].filter((w) => wanted.has(w)).length;
  return [...agents]
    .map((agent) => ({ agent, score: score(agent), at: new Date(agent.createdAt).getTime() }))
    .sort((a, b) => b.score - a.score || b.at - a.at)
    .slice(0, limit)
    .map((x) => x.agent)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The agents a Swap role select can offer (Slack shows at most 100 options, one of which is
 * "a new hire"): the role's current agent, then the seeded roster, then the latest hires;
 * shown by name.
 */
export function rosterChoices<A extends Pick<AgentDoc, 'name' | 'origin' | 'createdAt'>>(
  agents: readonly A[],
  current: string | null,
  limit = 99,
): A[] {
  const isCurrent = (a: A) => current !== null && a.name.toLowerCase() === current.trim().toLowerCase();
  const rank = (a: A) => (isCurrent(a) ? 0 : a.origin === 'roster' ? 1 : 2);
  const chosen = [...agents]
    .sort((a, b) => rank(a) - rank(b) || new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())
    .slice(0, limit);
  return chosen.sort((a, b) => a.name.localeCompare(b.name));
}
