import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false, async: false });

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
 * Markdown (GitHub flavour) to HTML that is safe to insert: marked renders, DOMPurify removes
 * scripts, event handlers, `javascript:` links, forms and styles; links open in a new tab.
 */
export function renderMarkdown(text: string): string {
  installHooks();
  const html = marked.parse(text) as string;
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
  });
}
