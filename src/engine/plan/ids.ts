/**
 * The one id an orchestration travels under, from the slash command to the deliverable: a branded
 * string, so that a Slack ts, a step id or a raw ObjectId cannot be passed where it is meant.
 * Mongoose casts it at the database edge; nothing else converts it.
 */
export type OrchestrationId = string & { readonly __brand: 'OrchestrationId' };

const OBJECT_ID = /^[a-f0-9]{24}$/;

/** The id from untrusted text (a button value, job data), or null when it is not one. */
export function parseOrchestrationId(raw: unknown): OrchestrationId | null {
  return typeof raw === 'string' && OBJECT_ID.test(raw) ? (raw as OrchestrationId) : null;
}

/** The id of a stored document (its `_id`, an ObjectId or its hex string). */
export function orchestrationIdOf(doc: { _id: { toString(): string } }): OrchestrationId {
  return doc._id.toString() as OrchestrationId;
}
