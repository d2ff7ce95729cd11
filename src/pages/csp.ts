/**
 * The chat pages' Content-Security-Policy. The ChatKit element loads from the script URL's origin
 * and, in a real browser, renders in a frame and fetches from that origin too, so scripts,
 * connections, frames, images, styles and fonts may come from it, from us ('self') and from the
 * configured extra origins. Inline scripts run only with this response's nonce.
 */
const OPENAI_API_ORIGIN = "https://api.openai.com";

export function chatPagePolicy(options: { nonce: string; scriptUrl: string | undefined; apiUrl: string; extraOrigins: string[] }): string {
  // The built-in client (no script URL) needs nothing but our own origin.
  const scriptOrigin = options.scriptUrl === undefined ? [] : [new URL(options.scriptUrl).origin];
  const extras = options.extraOrigins.map((origin) => new URL(origin).origin);
  const allowed = unique(["'self'", ...scriptOrigin, ...extras]);
  // An absolute api url on another host (CHATKIT_API_URL=https://api.example.com/chatkit) must be reachable.
  const apiOrigin = /^https?:\/\//i.test(options.apiUrl) ? new URL(options.apiUrl).origin : undefined;
  // OpenAI's element checks its domain key (and in hosted mode chats) against OpenAI's API.
  const openaiApi = options.scriptUrl && new URL(options.scriptUrl).hostname.endsWith(".openai.com") ? [OPENAI_API_ORIGIN] : [];
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": [...allowed, `'nonce-${options.nonce}'`],
    "connect-src": unique([...allowed, ...(apiOrigin ? [apiOrigin] : []), ...openaiApi]),
    "frame-src": allowed,
    "img-src": [...allowed, "data:", "blob:"],
    // The element styles its own markup; inline styles cannot run code.
    "style-src": [...allowed, "'unsafe-inline'"],
    "font-src": [...allowed, "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
  };
  return serialize(directives);
}

/** For the plain pages (sign-in help, errors): nothing but their own inline styles, our favicon and manifest. */
export const MESSAGE_PAGE_POLICY = serialize({
  "default-src": ["'none'"],
  "style-src": ["'unsafe-inline'"],
  "img-src": ["'self'"],
  "manifest-src": ["'self'"],
  "form-action": ["'self'"],
  "base-uri": ["'none'"],
  "frame-ancestors": ["'none'"],
});

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function serialize(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}
