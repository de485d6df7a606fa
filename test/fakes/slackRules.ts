/**
 * The checks Slack makes on what an app sends and no builder library makes: Block Kit limits for
 * messages and views, stream chunks and message metadata. Each returns Slack's error code, or null.
 */

/** The Block Kit limits Slack enforces on messages; `refused` holds block types this workspace refuses. */
export function messageError(
  args: Record<string, any>,
  refused: ReadonlySet<string>,
  requireContent = true,
): string | null {
  const blocks: unknown[] | undefined = Array.isArray(args.blocks) ? args.blocks : undefined;
  const attachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (requireContent && !args.text && !args.markdown_text && !blocks?.length && !attachments) return 'no_text';
  return blocks ? blocksError(blocks, refused) : null;
}

export function blocksError(blocks: unknown[], refused: ReadonlySet<string>): string | null {
  if (blocks.length > 50) return 'invalid_blocks';
  let total = 0;
  let markdown = 0;
  let tables = 0;
  for (const b of blocks as any[]) {
    if (!b || typeof b !== 'object' || typeof b.type !== 'string') return 'invalid_blocks';
    // A plan carries its task cards inside, so refusing task_card refuses a plan that has any.
    const nested: unknown[] = b.type === 'plan' && Array.isArray(b.tasks) ? b.tasks.map((t: any) => t?.type) : [];
    if (refused.has(b.type) || nested.some((t) => refused.has(String(t)))) return 'invalid_blocks';
    const text = typeof b.text === 'string' ? b.text : (b.text?.text ?? '');
    total += text.length;
    if (b.type === 'section' && text.length > 3000) return 'invalid_blocks';
    if (b.type === 'header' && text.length > 150) return 'invalid_blocks';
    if (b.type === 'markdown') markdown += text.length;
    if (b.type === 'table' && (++tables > 1 || tableError(b))) return 'invalid_blocks';
    if (String(b.block_id ?? '').length > 255) return 'invalid_blocks';
    const elements: any[] = [
      ...(b.type === 'actions' && Array.isArray(b.elements) ? b.elements : []),
      ...(b.accessory ? [b.accessory] : []),
      ...(b.element ? [b.element] : []),
    ];
    for (const el of elements) {
      if (String(el?.action_id ?? '').length > 255) return 'invalid_blocks';
      if (el?.type !== 'button') continue;
      if (String(el.text?.text ?? '').length > 75 || String(el.value ?? '').length > 2000) return 'invalid_blocks';
    }
    if (b.type === 'context' && Array.isArray(b.elements)) {
      for (const e of b.elements) total += String(e?.text ?? '').length;
    }
  }
  // The markdown blocks of one message share 12,000 characters between them.
  if (markdown > 12000) return 'invalid_blocks';
  // Slack refuses messages whose block text adds up past roughly 12k characters.
  return total > 12000 ? 'msg_blocks_too_long' : null;
}

/** A table: rows of cells, at most 100 rows of at most 20 cells. */
function tableError(table: Record<string, any>): boolean {
  const rows = table.rows;
  if (!Array.isArray(rows) || rows.length > 100) return true;
  return rows.some((row) => !Array.isArray(row) || row.length > 20);
}

/** Modal and Home tab limits; `type` is the view type the method takes, when it takes only one. */
export function viewError(view: unknown, type?: string): string | null {
  if (!view || typeof view !== 'object' || Array.isArray(view)) return 'invalid_arguments';
  const v = view as Record<string, any>;
  if (type !== undefined && (v.type !== type || !Array.isArray(v.blocks))) return 'invalid_arguments';
  if ((v.blocks?.length ?? 0) > 100) return 'invalid_arguments';
  if (String(v.title?.text ?? '').length > 24 || String(v.private_metadata ?? '').length > 3000) {
    return 'invalid_arguments';
  }
  return null;
}

const TASK_STATUSES = new Set(['pending', 'in_progress', 'complete', 'error']);

/** Stream chunks: markdown_text, plan_update, task_update and blocks, each with its required fields. */
export function chunksError(chunks: unknown, refused: ReadonlySet<string>): string | null {
  if (!Array.isArray(chunks)) return 'invalid_chunks';
  for (const c of chunks as any[]) {
    if (!c || typeof c !== 'object') return 'invalid_chunks';
    if (c.type === 'markdown_text' && typeof c.text === 'string') continue;
    if (c.type === 'plan_update' && typeof c.title === 'string') continue;
    const task = c.type === 'task_update' && typeof c.id === 'string' && typeof c.title === 'string';
    if (task && TASK_STATUSES.has(c.status)) continue;
    if (c.type === 'blocks' && Array.isArray(c.blocks)) {
      const error = blocksError(c.blocks, refused);
      if (error) return error;
      continue;
    }
    return 'invalid_chunks';
  }
  return null;
}

/** Message metadata is `{event_type, event_payload}`; Slack refuses anything else. */
export function metadataError(metadata: unknown): string | null {
  if (metadata === undefined) return null;
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return 'invalid_metadata_format';
  const m = metadata as Record<string, unknown>;
  const payload = m.event_payload;
  if (typeof m.event_type !== 'string' || !payload || typeof payload !== 'object' || Array.isArray(payload)) {
    return 'invalid_metadata_format';
  }
  return null;
}
