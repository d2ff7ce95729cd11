/**
 * The client tools the built-in web client answers by itself (and what it answers to any other:
 * an error output, so no turn waits forever). Shared by the page and the tool definitions
 * (`browserTools` in src/tools/browser.ts) that offer them to a model.
 */
export const BROWSER_TOOL_NAMES = {
  /** `{}` → `{ iso, local, time_zone, utc_offset_minutes }` */
  time: "get_current_time",
  /** `{}` → `{ locale, languages, time_zone }` */
  locale: "get_user_locale",
  /** `{ text }` → `{ copied: true, characters }` */
  copy: "copy_to_clipboard",
} as const;

/** The output the page sends for a client tool it does not have. */
export function unknownClientToolOutput(name: string): { error: "unknown_client_tool"; message: string } {
  return { error: "unknown_client_tool", message: `This page cannot run the client tool "${name}". Answer without it.` };
}
