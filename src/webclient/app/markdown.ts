import DOMPurify from "dompurify";
import { Marked } from "marked";
import { copyText } from "./clipboard.ts";
import { highlight } from "./highlight.ts";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Highlighted here, where the code is still text; the token spans pass the sanitiser as they are.
    code({ text, lang }) {
      const language = (lang ?? "").trim().split(/\s+/, 1)[0]!.toLowerCase();
      const body = highlight(text, language) ?? escapeHtml(text);
      return `<pre><code${language ? ` class="hljs language-${escapeHtml(language)}"` : ""}>${body}</code></pre>\n`;
    },
  },
});

/** Only our own origin and inline data may be fetched by rendered content: nothing leaves the box. */
function isOwnResource(url: string): boolean {
  try {
    const parsed = new URL(url, location.href);
    return parsed.origin === location.origin || parsed.protocol === "data:" || parsed.protocol === "blob:";
  } catch {
    return false;
  }
}

let hooked = false;
function installHooks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
    // A picture from another host would be a request leaving the box: show it as a link instead.
    if (node.tagName === "IMG") {
      const src = node.getAttribute("src") ?? "";
      if (!isOwnResource(src)) {
        const link = document.createElement("a");
        link.href = src;
        link.textContent = node.getAttribute("alt") || src;
        link.setAttribute("target", "_blank");
        link.setAttribute("rel", "noopener noreferrer nofollow");
        node.replaceWith(link);
      }
    }
  });
}

/**
 * Frames the sanitised markup for reading: a code block gets a bar with its language and a copy
 * button (our markup, added after sanitising, so an answer cannot bring buttons of its own), and
 * a table a scrolling region that the keyboard can reach.
 */
function frame(html: string): string {
  if (!html.includes("<pre") && !html.includes("<table")) return html;
  const template = document.createElement("template");
  template.innerHTML = html;
  for (const pre of Array.from(template.content.querySelectorAll("pre"))) {
    const language = /(?:^|\s)language-(\S+)/.exec(pre.querySelector("code")?.className ?? "")?.[1] ?? "text";
    const box = document.createElement("div");
    box.className = "ck-code";
    const bar = document.createElement("div");
    bar.className = "ck-code-bar";
    const label = document.createElement("span");
    label.className = "ck-code-lang";
    label.textContent = language;
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "ck-code-copy";
    // Named "Copy python code" by its own text (the visible part says "Copy", then "Copied").
    const state = document.createElement("span");
    state.className = "ck-code-copy-state";
    state.textContent = "Copy";
    const what = document.createElement("span");
    what.className = "ck-visually-hidden";
    what.textContent = ` ${language} code`;
    copy.append(state, what);
    bar.append(label, copy);
    pre.replaceWith(box);
    pre.tabIndex = 0;
    box.append(bar, pre);
  }
  for (const table of Array.from(template.content.querySelectorAll("table"))) {
    const region = document.createElement("div");
    region.className = "ck-table";
    region.tabIndex = 0;
    region.setAttribute("role", "region");
    region.setAttribute("aria-label", "Table");
    table.replaceWith(region);
    region.append(table);
  }
  return template.innerHTML;
}

/**
 * Markdown (GitHub flavour) to HTML that is safe to insert: marked renders (code highlighted),
 * DOMPurify removes scripts, event handlers, `javascript:` links, forms and styles; links open in
 * a new tab; code blocks and tables get their frames.
 */
export function renderMarkdown(text: string): string {
  installHooks();
  const html = marked.parse(text) as string;
  return frame(
    DOMPurify.sanitize(html, {
      FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
      FORBID_ATTR: ["style"],
    }),
  );
}

/** Click handler for rendered Markdown: a code block's copy button copies its code and says so. */
export function onMarkdownClick(event: MouseEvent): void {
  const button = (event.target as Element | null)?.closest?.(".ck-code-copy");
  const code = button?.closest(".ck-code")?.querySelector("code, pre");
  const state = button?.querySelector(".ck-code-copy-state");
  if (!code || !state) return;
  copyText(code.textContent ?? "").then(
    () => (state.textContent = "Copied"),
    () => (state.textContent = "Copy failed"),
  );
  setTimeout(() => (state.textContent = "Copy"), 2000);
}
