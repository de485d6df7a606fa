/**
 * The action and view ids of the roster in Slack (/orchestrate agents, the Home tab's agents):
 * kept apart from the plan's, and counted among the ids the app answers.
 */

/** Each id by name, for the builders and listeners that need the exact one. */
export const AgentControlIds = {
  /** A roster agent's Edit button, and the modal it opens. */
  edit: 'agents.edit',
  editModal: 'agents.edit.modal',
  /** A roster agent's Retire button (behind a confirm dialog). */
  retire: 'agents.retire',
  /** Paging through a roster longer than one message. Two ids: Slack wants them unique within a block. */
  previousPage: 'agents.page_previous',
  nextPage: 'agents.page_next',
  /** The Edit modal's inputs: block ids, and the action ids of their elements. */
  titleBlock: 'agent_title',
  titleInput: 'agent_title_input',
  personaBlock: 'agent_persona',
  personaInput: 'agent_persona_input',
  skillsBlock: 'agent_skills',
  skillsInput: 'agent_skills_input',
} as const;

/** Every roster id, as the listeners that count the ids the app answers read them. */
export const AgentIds: Readonly<Record<string, string>> = AgentControlIds;
