/**
 * The app's logger: Bolt's Logger shape, with every known secret and anything that looks like
 * a Slack or LLM credential masked before a line is written.
 */
import { ConsoleLogger, type Logger, LogLevel } from '@slack/logger';

export type { Logger };

const CREDENTIAL_PATTERNS = [
  /xox[abposr]-[A-Za-z0-9-]+/g,
  /xapp-[A-Za-z0-9-]+/g,
  /sk-[A-Za-z0-9_-]{8,}/g,
  /hooks\.slack\.com\/\S+/g,
];

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, '[redacted]');
  return out;
}

export function createLogger(
  level: 'debug' | 'info' | 'warn' | 'error',
  secrets: readonly string[],
  name = 'orchestrate',
): Logger {
  const inner = new ConsoleLogger();
  inner.setName(name);
  const levels: Record<string, LogLevel> = {
    debug: LogLevel.DEBUG,
    info: LogLevel.INFO,
    warn: LogLevel.WARN,
    error: LogLevel.ERROR,
  };
  inner.setLevel(levels[level]!);
  const clean = (msg: unknown[]) =>
    msg.map((m) =>
      redact(m instanceof Error ? `${m.name}: ${m.message}` : typeof m === 'string' ? m : safeJson(m), secrets),
    );
  const logger: Logger = {
    debug: (...msg) => inner.debug(...clean(msg)),
    info: (...msg) => inner.info(...clean(msg)),
    warn: (...msg) => inner.warn(...clean(msg)),
    error: (...msg) => inner.error(...clean(msg)),
    setLevel: (l) => inner.setLevel(l),
    getLevel: () => inner.getLevel(),
    setName: (n) => inner.setName(n),
  };
  return logger;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
