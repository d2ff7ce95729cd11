import { AsyncLocalStorage } from "node:async_hooks";

export interface Logger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

export type LogFormat = "text" | "json";

/** The request being answered, for every log line written on its behalf (set by the HTTP layer). */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

function errorFields(error: unknown): { name?: string; message: string; stack?: string } | undefined {
  if (error === undefined) return undefined;
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { message: String(error) };
}

/**
 * One log line: text (`[request id] message`, then the error's stack) or one JSON object
 * (`time`, `level`, `request_id`, `msg`, `error`) for log shippers.
 */
export function formatLogLine(format: LogFormat, level: "info" | "error", message: string, error?: unknown): string {
  const requestId = currentRequestId();
  if (format === "json") {
    const err = errorFields(error);
    return JSON.stringify({ time: new Date().toISOString(), level, ...(requestId ? { request_id: requestId } : {}), msg: message, ...(err ? { error: err } : {}) });
  }
  const prefix = requestId ? `[${requestId}] ` : "";
  if (level === "info" || error === undefined) return `${prefix}${message}`;
  return `${prefix}${message} ${error instanceof Error ? error.stack : String(error)}`;
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
export function createLogger(format: LogFormat = "text"): Logger {
  return {
    info: (message) => infoLines.add(`${formatLogLine(format, "info", message)}\n`),
    error: (message, error) => {
      flushInfoLines();
      process.stderr.write(`${formatLogLine(format, "error", message, error)}\n`);
    },
  };
}

export const consoleLogger: Logger = createLogger("text");
