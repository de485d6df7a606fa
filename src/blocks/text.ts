/**
 * Making text from users and the LLM safe to show: it can never ping @channel or a person,
 * never break mrkdwn, and never push a block past Slack's size limits.
 */

/** Escapes text for a mrkdwn field: Slack's control characters become entities. */
export function escapeMrkdwn(text: string): string {
  return neutralizeBroadcasts(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/**
 * For standard-Markdown text (markdown blocks): keeps the formatting the LLM wrote, but breaks
 * Slack's mention syntax so that nothing in it can notify anyone.
 */
export function neutralizeMentions(text: string): string {
  return neutralizeBroadcasts(text.replace(/<([!@#])/g, '<\u200B$1'));
}

function neutralizeBroadcasts(text: string): string {
  return text.replace(/@(channel|here|everyone)\b/gi, '@\u200B$1');
}

/** Shortens to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** Escapes, then truncates so that the escaped text fits `max` (entities make text longer). */
export function safeMrkdwn(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  // Never cut an entity in half.
  return `${escaped
    .slice(0, max - 1)
    .replace(/&[a-z]*$/, '')
    .trimEnd()}…`;
}

export function plain(text: string, max: number): string {
  return truncate(text.replace(/\s+/g, ' ').trim(), max);
}

/**
 * For a message's top-level `text`: Slack parses it as mrkdwn and uses it for notifications,
 * so it is escaped like any block text, on one line.
 */
export function fallbackText(text: string, max: number): string {
  return escapeMrkdwn(plain(text, max));
}

/**
 * Slack sends a slash command's text with &, < and > as entities. Decoded once at intake, the
 * goal is stored as the user typed it, and escaped again wherever it is shown.
 */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Splits long Markdown into chunks of at most `max` characters, preferring paragraph and line breaks. */
export function splitMarkdown(text: string, max: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n\n', max);
    if (cut < max * 0.5) cut = rest.lastIndexOf('\n', max);
    if (cut < max * 0.5) cut = rest.lastIndexOf(' ', max);
    if (cut <= 0) cut = max;
    chunks.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length || chunks.length === 0) chunks.push(rest);
  return chunks;
}

export function formatUsd(usd: number): string {
  const value = Math.max(0, usd);
  if (value === 0) return '$0.00';
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
