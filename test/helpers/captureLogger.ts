/** A logger that keeps every line it is given, at every level, so that tests can read what the app logged. */
import type { Logger } from '../../src/logger.js';

export function captureLogger(logs: string[]): Logger {
  const capture =
    (level: string) =>
    (...msg: unknown[]) =>
      void logs.push(`${level} ${msg.map(String).join(' ')}`);
  return {
    debug: capture('debug'),
    info: capture('info'),
    warn: capture('warn'),
    error: capture('error'),
    setLevel: () => undefined,
    getLevel: () => 'debug' as never,
    setName: () => undefined,
  };
}
