/**
 * A logger for a PBX under test that keeps its last lines in memory (not a test file): a failing assertion can
 * then print what the PBX logged (drops, answers, transaction errors) next to what the peer said.
 */
import { createLogger, type Logger } from '../../lib/log.js';

export interface CapturedLog {
  logger: Logger;
  /** Parsed lines, oldest first (at most `keep`). */
  lines: Array<Record<string, unknown> & { level: number; msg: string }>;
  /** The last `n` lines as text, one JSON object per line. */
  tail(n?: number): string;
}

export function captureLog(level: 'debug' | 'info' | 'trace' = 'debug', keep = 500): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const logger = createLogger({
    level,
    destination: {
      write: (s: string) => {
        lines.push(JSON.parse(s));
        if (lines.length > keep) lines.shift();
      },
    },
  });
  return { logger, lines, tail: (n = 60) => lines.slice(-n).map((l) => JSON.stringify(l)).join('\n') };
}
