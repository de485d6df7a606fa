/**
 * The action and view ids of the roster in Slack (/orchestrate agents, the Home tab's agents):
 * kept apart from the plan's, and counted among the ids the app answers.
 */
export const AgentIds: Readonly<Record<string, string>> = {};
