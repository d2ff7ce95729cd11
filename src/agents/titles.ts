import { Lexer, type Token } from "marked";

const MAX_TITLE_LENGTH = 60;

/** The words of a token tree: link and emphasis text, code as its characters, no markup. */
function tokenText(tokens: Token[]): string {
  return tokens
    .map((token) => {
      if ("tokens" in token && Array.isArray(token.tokens) && token.tokens.length > 0) return tokenText(token.tokens);
      if (token.type === "list") return tokenText(token.items as Token[]);
      if (token.type === "html") return token.text.replace(/<[^>]*>/g, " ");
      if (token.type === "space" || token.type === "hr") return " ";
      return "text" in token && typeof token.text === "string" ? token.text : "";
    })
    .join(" ");
}

/**
 * The text a person reads in a message written in Markdown: "Show me **code**: ```python def add…"
 * becomes "Show me code: def add…". marked's lexer (already the client's Markdown parser) does the
 * parsing, so fences, links, emphasis and lists are read as they render.
 */
export function plainText(markdown: string): string {
  let text: string;
  try {
    text = tokenText(new Lexer({ gfm: true }).lex(markdown));
  } catch {
    text = markdown;
  }
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[name]!);
}

/** A title from the first user message: its plain text on one line, trimmed, shortened at a word boundary. */
export function titleFromText(text: string): string | null {
  const line = plainText(text).replace(/\s+/g, " ").replace(/\s+([,.;:!?])/g, "$1").trim();
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

/** Cleans a model-written title: first line, no wrapping quotes, no Markdown, bounded length. */
export function cleanModelTitle(raw: string): string | null {
  const firstLine = raw.trim().split("\n")[0] ?? "";
  return titleFromText(firstLine.replace(/^["'“”«»]+|["'“”«».]+$/g, ""));
}
