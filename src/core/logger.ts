/** Named values of a log line (an event's user, outcome, reason): JSON keys, or `key=value` in text. */
export type LogFields = Record<string, string | number | boolean | null>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  error(message: string, error?: unknown): void;
  /**
   * The same logger for one request: each of its lines names the request id. Passed down
   * explicitly rather than found through an AsyncLocalStorage, which on Node 20 makes every
   * promise in the process about twice as expensive.
   */
  forRequest(requestId: string): Logger;
}

export type LogFormat = "text" | "json";

function errorFields(error: unknown): { name?: string; message: string; stack?: string } | undefined {
  if (error === undefined) return undefined;
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { message: String(error) };
}

/**
 * One log line: text (`[request id] message`, then the error's stack) or one JSON object
 * (`time`, `level`, `request_id`, `msg`, `error`) for log shippers.
 */
export function formatLogLine(format: LogFormat, level: "info" | "error", message: string, error?: unknown, requestId?: string, fields?: LogFields): string {
  if (format === "json") {
    const err = errorFields(error);
    return JSON.stringify({ time: new Date().toISOString(), level, ...(requestId ? { request_id: requestId } : {}), msg: message, ...fields, ...(err ? { error: err } : {}) });
  }
  const prefix = requestId ? `[${requestId}] ` : "";
  const text = fields ? `${message}${textFields(fields)}` : message;
  if (level === "info" || error === undefined) return `${prefix}${text}`;
  return `${prefix}${text} ${error instanceof Error ? error.stack : String(error)}`;
}

/** ` key=value` per field; a value with spaces, quotes or `=` is JSON-quoted, so a line splits back unambiguously. */
function textFields(fields: LogFields): string {
  let out = "";
  for (const [key, value] of Object.entries(fields)) {
    const text = String(value);
    out += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return out;
}

/**
 * Info lines written in one turn of the event loop go to stdout in one write: a busy server
 * logs a line per request, and a write each is a system call each (a synchronous one, for pipes
 * and terminals). What is pending is written before an error line and when the process exits.
 */
const infoLines = {
  pending: [] as string[],
  scheduled: false,
  add(line: string): void {
    this.pending.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(flushInfoLines);
  },
};

function flushInfoLines(): void {
  infoLines.scheduled = false;
  if (infoLines.pending.length === 0) return;
  const text = infoLines.pending.join("");
  infoLines.pending = [];
  process.stdout.write(text);
}

process.once("exit", flushInfoLines);

/** A logger writing to stdout (info) and stderr (errors) in the given format. */
export function createLogger(format: LogFormat = "text", requestId?: string): Logger {
  return {
    info: (message, fields) => infoLines.add(`${formatLogLine(format, "info", message, undefined, requestId, fields)}\n`),
    error: (message, error) => {
      flushInfoLines();
      process.stderr.write(`${formatLogLine(format, "error", message, error, requestId)}\n`);
    },
    forRequest: (id) => createLogger(format, id),
  };
}

/** A logger that drops every line. */
export const silentLogger: Logger = { info: () => {}, error: () => {}, forRequest: () => silentLogger };
