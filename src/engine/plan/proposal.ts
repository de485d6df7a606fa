/**
 * The proposal contract: the one zod schema that gives the TypeScript type, validates
 * what the CEO agent returns, and is handed to the LLM as the tool's JSON schema.
 */
import { z } from 'zod';
import { DeclaredOutputSchema, FIELD_REFERENCE } from './outputs.js';

export const MAX_ROLES = 8;
export const MAX_TICKETS = 16;
export const MAX_GOAL_CHARS = 3000;
export const MAX_ROLE_TOOLS = 32;

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be a lowercase slug (a-z, 0-9, "-" or "_", at most 40 characters)');

export const HireSchema = z.object({
  name: z.string().min(1).max(80).describe('Display name of the new agent'),
  persona: z.string().min(1).max(2000).describe('One paragraph: who this agent is and how it works'),
  skills: z.array(z.string().min(1).max(80)).max(12),
});

export const RoleSchema = z.object({
  key: slug.describe('Unique slug for this role, referenced by tickets'),
  title: z.string().min(1).max(120),
  existingAgent: z.string().nullable().describe('Name of an agent from the roster to reuse, or null when hiring'),
  hire: HireSchema.nullable().describe('The new agent to hire, or null when reusing an existing agent'),
  // Defaults, because proposals stored before roles had tools and a model must still validate.
  tools: z
    .array(z.string().min(1).max(128))
    .max(MAX_ROLE_TOOLS)
    .default([])
    .describe('Names of the available tools this role needs; [] for none'),
  model: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe('One of the models that may be chosen, or null for the default model'),
});

export const TicketSchema = z.object({
  key: slug.describe('Unique slug for this ticket'),
  title: z.string().min(1).max(200),
  role: slug.describe('Key of the role that works this ticket'),
  description: z.string().min(1).max(4000),
  dependsOn: z.array(slug).describe('Keys of tickets whose results this ticket needs'),
  // Optional, because proposals stored before outputs were declared must still validate, and a
  // ticket whose result is prose declares none.
  output: DeclaredOutputSchema.optional().describe(
    'What the ticket produces, as named fields, where the structure matters; leave out for prose',
  ),
  uses: z
    .array(z.string().regex(FIELD_REFERENCE, 'must be "ticket.field"'))
    .max(40)
    .optional()
    .describe('Fields of the tickets it depends on that it builds on, as "ticket.field"; leave out when none'),
  review: z
    .boolean()
    .optional()
    .describe('true: people review its result (accept, rework or edit it) before anything builds on it'),
});

export const ProposalSchema = z.object({
  goal: z.string().min(1).max(MAX_GOAL_CHARS),
  roles: z.array(RoleSchema).min(1),
  tickets: z.array(TicketSchema).min(1),
  research: z.object({
    enabled: z.boolean(),
    prompt: z.string().max(4000),
    role: slug.nullable(),
  }),
  discussion: z.object({
    enabled: z.boolean(),
    prompt: z.string().max(4000),
    // Absent means on: people may add their own position before the work starts.
    pauseForPeople: z
      .boolean()
      .optional()
      .describe('Pause after the positions so that people can weigh in; on unless false'),
  }),
  synthesis: z.object({
    role: slug,
    prompt: z.string().min(1).max(4000),
  }),
  budget: z.object({
    maxUsd: z.number().positive().max(10_000),
  }),
});

export type Proposal = z.infer<typeof ProposalSchema>;
export type Role = z.infer<typeof RoleSchema>;
export type Ticket = z.infer<typeof TicketSchema>;
export type Hire = z.infer<typeof HireSchema>;
