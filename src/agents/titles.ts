const MAX_TITLE_LENGTH = 60;

/** A title from the first user message: one line, trimmed, shortened at a word boundary. */
export function titleFromText(text: string): string | null {
  const line = text.replace(/\s+/g, " ").trim();
  if (!line) return null;
  if (line.length <= MAX_TITLE_LENGTH) return line;
  const cut = line.slice(0, MAX_TITLE_LENGTH + 1);
  const lastSpace = cut.lastIndexOf(" ");
  const shortened = lastSpace > MAX_TITLE_LENGTH / 2 ? cut.slice(0, lastSpace) : line.slice(0, MAX_TITLE_LENGTH);
  return `${shortened.replace(/[\s.,;:!?-]+$/, "")}…`;
}

export const TITLE_INSTRUCTIONS =
  "Write a short title (at most six words) for a conversation that starts with the user's message below. " +
  "Answer with the title only: no quotes, no trailing punctuation.";

/** Cleans a model-written title: first line, no wrapping quotes, bounded length. */
export function cleanModelTitle(raw: string): string | null {
  const firstLine = raw.trim().split("\n")[0] ?? "";
  return titleFromText(firstLine.replace(/^["'“”«»]+|["'“”«».]+$/g, ""));
}
