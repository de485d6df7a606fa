/**
 * Every action_id and view callback_id the app uses, in one place, so the builders that draw a
 * control and the handlers that answer it can never disagree.
 */
export const ActionIds = {
  approve: 'orchestrate.approve',
  cancel: 'orchestrate.cancel',
} as const;

export type ActionId = (typeof ActionIds)[keyof typeof ActionIds];

/** What a control carries in its `value`: the orchestration, the revision it was drawn for, and a target. */
export interface ControlValue {
  o: string;
  r: number;
  k?: string;
}

export function encodeControlValue(value: ControlValue): string {
  return JSON.stringify(value);
}

export function decodeControlValue(raw: string | undefined): ControlValue | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<ControlValue>;
    if (typeof v.o !== 'string' || !/^[a-f0-9]{24}$/.test(v.o) || typeof v.r !== 'number') return null;
    return { o: v.o, r: v.r, ...(typeof v.k === 'string' ? { k: v.k } : {}) };
  } catch {
    return null;
  }
}
