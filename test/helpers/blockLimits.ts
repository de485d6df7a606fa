/** Checks a message against Slack's Block Kit limits, which no builder library enforces. */
export function blockKitViolations(message: { text: string; blocks: any[] }): string[] {
  const out: string[] = [];
  if (message.blocks.length > 50) out.push(`${message.blocks.length} blocks (max 50)`);
  let total = 0;
  for (const [i, b] of message.blocks.entries()) {
    const text = b.text?.text ?? (typeof b.text === 'string' ? b.text : '');
    total += text.length;
    if (b.type === 'section' && text.length > 3000) out.push(`block ${i}: section text ${text.length} > 3000`);
    if (b.type === 'header' && text.length > 150) out.push(`block ${i}: header ${text.length} > 150`);
    if (b.type === 'markdown' && text.length > 12000) out.push(`block ${i}: markdown ${text.length} > 12000`);
    if (b.block_id && b.block_id.length > 255) out.push(`block ${i}: block_id too long`);
    if (b.type === 'context') {
      if (b.elements.length > 10) out.push(`block ${i}: context has ${b.elements.length} elements`);
      for (const e of b.elements) total += (e.text ?? '').length;
    }
    const buttons = [...(b.type === 'actions' ? b.elements : []), ...(b.accessory ? [b.accessory] : [])];
    if (b.type === 'actions' && b.elements.length > 25) out.push(`block ${i}: ${b.elements.length} actions`);
    for (const el of buttons) {
      if (el.type !== 'button') continue;
      // Whether Slack counts them toward its limit is not documented: count them, to be safe.
      total += el.text.text.length;
      if (el.confirm)
        total += [el.confirm.title, el.confirm.text, el.confirm.confirm, el.confirm.deny].reduce(
          (n: number, t: any) => n + (t?.text?.length ?? 0),
          0,
        );
      if (el.confirm && el.confirm.text.text.length > 300) out.push(`block ${i}: confirm text too long`);
      if (el.text.text.length > 75) out.push(`block ${i}: button text too long`);
      if (el.action_id.length > 255) out.push(`block ${i}: action_id too long`);
      if ((el.value ?? '').length > 2000) out.push(`block ${i}: button value too long`);
    }
  }
  if (total > 11000)
    out.push(`${total} characters of block text, confirm dialogs and labels included (Slack fails around 11-13k)`);
  return out;
}
