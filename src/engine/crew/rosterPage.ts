/**
 * One page of the roster as people see it (the answer to `/orchestrate agents`, the Home tab):
 * the agents still serving, by name, each with its record from the runs it worked in.
 */
import { ROSTER_PAGE_SIZE, type RosterPageView } from '../../blocks/agents.js';
import { agentRecords, recordOf } from './agentRecords.js';
import { rosterEntries } from './roster.js';

/** Page `page` (clamped to the pages there are); `canManage` draws Edit and Retire. */
export async function loadRosterPage(
  page: number,
  canManage: boolean,
  notice: string | null = null,
): Promise<RosterPageView> {
  const entries = await rosterEntries();
  const pageCount = Math.max(1, Math.ceil(entries.length / ROSTER_PAGE_SIZE));
  const shown = Math.min(Math.max(0, Math.floor(page)), pageCount - 1);
  const slice = entries.slice(shown * ROSTER_PAGE_SIZE, (shown + 1) * ROSTER_PAGE_SIZE);
  const records = await agentRecords(slice);
  return {
    agents: slice.map(({ agent }) => ({
      agentId: String(agent._id),
      version: agent.version ?? 0,
      name: agent.name,
      title: agent.title,
      persona: agent.persona,
      skills: agent.skills,
      hired: agent.origin === 'hire',
      record: recordOf(records, agent._id),
    })),
    page: shown,
    pageCount,
    total: entries.length,
    canManage,
    notice,
  };
}
