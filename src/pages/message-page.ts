import { escapeHtml, htmlDocument } from "./html.ts";

export const MESSAGE_STYLES = `
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
code { background: #f2f2f2; padding: .1rem .3rem; border-radius: 3px; }
button { font: inherit; padding: .4rem 1rem; }
`;

/** A button under the paragraphs that POSTs (an empty form) to `action`, a path on this server. */
export interface MessagePageButton {
  action: string;
  label: string;
}

/**
 * A plain page with a heading and paragraphs, for sign-in help and errors a person reads, and
 * optionally one button. `paragraphs` are markup: escape any value put into them with `escapeHtml`.
 */
export function renderMessagePage(title: string, paragraphs: string[], button?: MessagePageButton): string {
  const form = button
    ? `\n<form method="post" action="${escapeHtml(button.action)}"><button type="submit">${escapeHtml(button.label)}</button></form>`
    : "";
  return htmlDocument({
    title,
    head: `<style>${MESSAGE_STYLES}</style>`,
    body: `<main>
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join("\n")}${form}
</main>`,
  });
}

/** The command an operator runs on the server to get someone a login link. */
export function loginLinkCommand(agentId?: string): string {
  return `npm run --silent login-link -- you@example.com${agentId ? ` --agent ${agentId}` : ""}`;
}
