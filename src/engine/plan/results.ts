/**
 * The shapes of what steps produce: a role's position, and the synthesis (the deliverable plus
 * its known gaps). The schemas are handed to the LLM as tools; the readers read stored results
 * leniently, since a stored result may hold more than the model may send.
 */
import { z } from 'zod';

/** An earlier step's output is cut to this many characters in later prompts, to bound their cost. */
export const MAX_CONTEXT_CHARS = 6000;
/** A structured result gets more room: cutting a table short would drop rows a dependent was promised. */
export const MAX_STRUCTURED_CONTEXT_CHARS = 12_000;

export const PositionSchema = z.object({
  position: z.string().min(1).max(20_000),
  risks: z.array(z.string().min(1).max(500)).max(10),
});
export type Position = z.infer<typeof PositionSchema>;

export const MAX_GAP_CHARS = 1000;
export const SynthesisSchema = z.object({
  deliverable: z.string().min(1),
  gaps: z.array(z.string().min(1).max(MAX_GAP_CHARS)).max(30),
});

/** The gaps a stored synthesis names (it holds the failed tickets' as well as the model's). */
export function storedGaps(structured: unknown): string[] {
  const gaps = (structured as { gaps?: unknown } | null)?.gaps;
  return Array.isArray(gaps) ? gaps.map(String) : [];
}

/** What a stored position says, or the step's output when the structure is missing. */
export function storedPosition(structured: unknown, output: string | null): Position {
  const parsed = PositionSchema.safeParse(structured);
  return parsed.success ? parsed.data : { position: output ?? '', risks: [] };
}
