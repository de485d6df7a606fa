/**
 * The lines under each ticket of the plan message: what it waits for (every dependency named by its
 * number at least), what it produces and builds on, and the confirm dialog of Drop ticket, each
 * within the room the message can give it.
 */
import { outputSummary } from '../engine/plan/outputText.js';
import type { Proposal, Ticket } from '../engine/plan/proposal.js';
import { plain, safeMrkdwn } from './text.js';

/**
 * "Produces: A competitor matrix: matrix (table: name, pricing)", and the fields it builds on, within
 * `max` characters together: the line that says what a ticket promises must fit the largest plan too.
 */
export function producesLine(ticket: Ticket, max: number): string {
  const produces = ticket.output ? `\n_Produces:_ ${safeMrkdwn(outputSummary(ticket.output), max)}` : '';
  const left = max - produces.length;
  const uses =
    ticket.uses?.length && left >= 30 ? `\n_Builds on:_ ${safeMrkdwn(ticket.uses.join(', '), left - 14)}` : '';
  return `${produces}${uses}`;
}

/**
 * "#1 Map the competitors, #2 Compare pricing" within `max` characters: every dependency keeps
 * its number, which always fits, and the titles share what room is left.
 */
export function dependencyList(
  keys: readonly string[],
  numberOf: Map<string, number>,
  titles: Map<string, string>,
  max: number,
  escaped = true,
): string {
  const show = (text: string, room: number) => (escaped ? safeMrkdwn(text, room) : plain(text, room));
  const numbers = keys.map((k) => `#${numberOf.get(k) ?? '?'}`);
  const perTitle = Math.floor((max - numbers.join(', ').length) / keys.length) - 1;
  if (perTitle < 12) return numbers.join(', ');
  return keys.map((k, i) => `${numbers[i]} ${show(titles.get(k) ?? k, perTitle)}`).join(', ');
}

/** The confirm dialog of Drop ticket says what depends on the ticket, before anything changes. */
export function dropConfirm(
  p: Proposal,
  ticketKey: string,
  numberOf: Map<string, number>,
  titles: Map<string, string>,
) {
  const dependents = p.tickets.filter((t) => t.dependsOn.includes(ticketKey)).map((t) => t.key);
  const body =
    p.tickets.length === 1
      ? 'This is the last ticket; a plan needs at least one, so this will be refused.'
      : dependents.length
        ? `${dependencyList(dependents, numberOf, titles, 60, false)} ${dependents.length === 1 ? 'depends' : 'depend'} on it and will run without its result.`
        : 'Nothing depends on it. It will not run, and no prompt will mention it.';
  return {
    title: { type: 'plain_text' as const, text: 'Drop this ticket?' },
    text: { type: 'plain_text' as const, text: body },
    confirm: { type: 'plain_text' as const, text: 'Drop it' },
    deny: { type: 'plain_text' as const, text: 'Keep it' },
    style: 'danger' as const,
  };
}
