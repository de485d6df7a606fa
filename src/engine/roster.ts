/**
 * The roster as proposals see it: agents seeded as the roster plus every earlier hire, one
 * per name (a seeded agent wins over a hire of the same name, else the latest hire).
 */
import { Agent, type AgentDoc } from '../models/agent.js';

export async function rosterAgents(): Promise<AgentDoc[]> {
  const all = await Agent.find({}).sort({ createdAt: 1 }).lean<AgentDoc[]>();
  const byName = new Map<string, AgentDoc>();
  for (const agent of all) {
    const key = agent.name.toLowerCase();
    const seen = byName.get(key);
    if (!seen || seen.origin !== 'roster') byName.set(key, agent);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
