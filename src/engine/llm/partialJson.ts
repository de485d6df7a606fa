/**
 * Reading a tool call's arguments while the model is still writing them: the value of one string
 * field, as far as it has arrived, so that a long answer can be shown as it is written.
 */

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };

/** The text of top-level string field `field` in a JSON object still being written, or null before it starts. */
export function partialStringField(raw: string, field: string): string | null {
  const start = new RegExp(`"${field}"\\s*:\\s*"`).exec(raw);
  if (!start) return null;
  let out = '';
  let i = start.index + start[0].length;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '"') return out;
    if (c !== '\\') {
      out += c;
      i += 1;
      continue;
    }
    // An escape cut in half by the stream waits for its next piece.
    const kind = raw[i + 1];
    if (kind === undefined) break;
    if (kind === 'u') {
      if (i + 6 > raw.length) break;
      out += String.fromCharCode(Number.parseInt(raw.slice(i + 2, i + 6), 16));
      i += 6;
      continue;
    }
    out += ESCAPES[kind] ?? kind;
    i += 2;
  }
  return out;
}
