import { readFileSync } from "node:fs";

interface Messages {
  errors: Record<string, string>;
  stream: Record<string, string>;
}

const messages = JSON.parse(
  readFileSync(new URL("../../config/locales/en.json", import.meta.url), "utf8"),
) as Messages;

/** The human text of an error key (config/locales/en.json). */
export function errorMessage(key: string): string {
  return messages.errors[key] ?? messages.errors.internal_error ?? key;
}

/** The human text shown inside a stream (error events, notes); an error key's text where the stream has none of its own. */
export function streamMessage(key: string): string {
  return messages.stream[key] ?? messages.errors[key] ?? key;
}
