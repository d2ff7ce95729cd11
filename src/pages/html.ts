import { randomBytes } from "node:crypto";
import { ICON_LINKS } from "./app-icon.ts";

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/**
 * JSON safe inside a `<script>` element: `<`, `>` and `&` become `\u003c`-style escapes, so no
 * value can close the element or open a comment; U+2028/2029 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A fresh CSP nonce for one response: 128 random bits. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

/** A whole HTML document; `head` and `body` must already be escaped markup. */
export function htmlDocument(parts: { title: string; head?: string; body: string; bodyClass?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(parts.title)}</title>
${ICON_LINKS}
${parts.head ?? ""}
</head>
<body${parts.bodyClass ? ` class="${escapeHtml(parts.bodyClass)}"` : ""}>
${parts.body}
</body>
</html>
`;
}
