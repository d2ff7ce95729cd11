import { readFileSync } from "node:fs";

interface Messages {
  errors: Record<string, string>;
  stream: Record<string, string>;
}

const messages = JSON.parse(
  readFileSync(new URL("../../config/locales/en.json", import.meta.url), "utf8"),
) as Messages;

/** Fills `{name}` placeholders from the error's details; a placeholder without a value stays as written. */
function fill(text: string, details: Record<string, unknown> | undefined): string {
  if (!details || !text.includes("{")) return text;
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => (details[name] === undefined ? whole : String(details[name])));
}

/** The human text of an error key (config/locales/en.json), with its details filled in. */
export function errorMessage(key: string, details?: Record<string, unknown>): string {
  return fill(messages.errors[key] ?? messages.errors.internal_error ?? key, details);
}

/** The human text shown inside a stream (error events, notes); an error key's text where the stream has none of its own. */
export function streamMessage(key: string, details?: Record<string, unknown>): string {
  return fill(messages.stream[key] ?? messages.errors[key] ?? key, details);
}
