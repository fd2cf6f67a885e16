import pino, { type Logger } from "pino";

export type { Logger };

// Secrets never reach the log: these paths are censored wherever they appear.
const REDACT = [
  "password", "new_password", "newPassword", "code", "token", "key", "secret", "clientSecret",
  "authorization", "cookie", "set-cookie", "_csrf",
  "*.password", "*.new_password", "*.newPassword", "*.code", "*.token", "*.key", "*.secret", "*.clientSecret",
  "req.headers.authorization", "req.headers.cookie", "res.headers[\"set-cookie\"]",
  "headers.authorization", "headers.cookie",
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: "gatehouse" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
