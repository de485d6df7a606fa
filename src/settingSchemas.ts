/**
 * The shapes settings come in (a positive number, a comma-separated list, a JSON object), each
 * with the words a wrong value is refused in: shared by config.ts and toolSettings.ts.
 */
import { z } from 'zod';

export const positiveNumber = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).positive('must be greater than 0').default(fallback);

export const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .positive('must be at least 1')
    .default(fallback);

/** Comma-separated values, trimmed, empty ones dropped; unset is an empty list. */
export const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * A setting holding JSON: unset is `{}`; text that is not JSON, or JSON of the wrong shape, is one
 * message saying what was expected.
 */
export function jsonSetting<T extends Record<string, unknown>>(
  schema: z.ZodType<T>,
  example: string,
  wrongShape: string,
) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (!raw) return {} as T;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON like ${example}` });
        return z.NEVER;
      }
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: wrongShape });
      return z.NEVER;
    });
}
