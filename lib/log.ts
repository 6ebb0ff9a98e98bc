// Structured logging (pino). Secrets never reach a logger: the redact list is a last line of defence for
// fields that should not have been logged in the first place.
import pino from 'pino';

export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  redact: { paths: ['*.password', '*.secretAccessKey', '*.secret', '*.token', 'password', 'secretAccessKey'], censor: '[redacted]' },
});

export type Logger = typeof log;
