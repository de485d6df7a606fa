/**
 * The roster as proposals see it: agents seeded as the roster plus every earlier hire, one
 * per name (a seeded agent wins over a hire of the same name, else the latest hire).
 */
import { Agent, type AgentDoc } from '../../models/agent.js';

export async function rosterAgents(): Promise<AgentDoc[]> {
  const all = await Agent.find({}).sort({ createdAt: 1 }).lean<AgentDoc[]>();
  const byName = new Map<string, AgentDoc>();
  for (const agent of all) {
    const key = agent.name.toLowerCase();
    const seen = byName.get(key);
    if (seen?.origin !== 'roster') byName.set(key, agent);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
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
