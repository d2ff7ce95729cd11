import { oidcPaths } from "../auth/oidc-flow-cookie.ts";
import { escapeHtml, htmlDocument } from "./html.ts";
import { loginLinkCommand, MESSAGE_STYLES } from "./message-page.ts";

/** Where the email form posts. */
export const EMAIL_SIGN_IN_PATH = "/auth/email";

const SIGN_IN_STYLES = `
form.email { margin: 1.5rem 0; }
form.email label { display: block; font-weight: 600; margin-bottom: .3rem; }
form.email input { font: inherit; padding: .4rem; width: 100%; max-width: 22rem; box-sizing: border-box; margin-bottom: .5rem; }
ul.providers { list-style: none; padding: 0; margin: 1.5rem 0; }
ul.providers li { margin: .5rem 0; }
a.button { display: inline-block; padding: .4rem 1rem; border: 1px solid #555; border-radius: 3px; color: inherit; text-decoration: none; }
a.button:focus, a.button:hover { background: #f2f2f2; }
.hint { color: #555; font-size: .9rem; }
`;

export interface SignInOptions {
  /** Whether people may ask for a link by mail (SMTP is configured). */
  email: boolean;
  /** The OpenID Connect providers, one button each. */
  providers: Array<{ id: string; name: string }>;
  /** The agent whose chat page sent the person here: the sign-in returns to it. */
  agentId?: string;
}

/**
 * The signed-out page: the email form (or "by invitation" when no mail can be sent), a button per
 * OpenID Connect provider, and the operator's command. `paragraphs` (markup, escaped by the
 * caller) come first. Nothing on it loads from anywhere: it fits the message pages' policy.
 */
export function renderSignInPage(title: string, paragraphs: string[], options: SignInOptions): string {
  const agentQuery = options.agentId ? `?agent=${encodeURIComponent(options.agentId)}` : "";
  const email = options.email
    ? `<form class="email" method="post" action="${EMAIL_SIGN_IN_PATH}${agentQuery}">
<label for="sign-in-email">Email address</label>
<input id="sign-in-email" name="email" type="email" autocomplete="email" required maxlength="254">
<button type="submit">Email me a sign-in link</button>
</form>`
    : `<p>Sign-in is by invitation: ask the operator or an admin of this server for a sign-in link.</p>`;
  const providers = options.providers.length
    ? `<ul class="providers" aria-label="Sign in with another account">
${options.providers.map((provider) => `<li><a class="button" href="${escapeHtml(oidcPaths(provider.id).start + agentQuery)}">Sign in with ${escapeHtml(provider.name)}</a></li>`).join("\n")}
</ul>`
    : "";
  return htmlDocument({
    title,
    head: `<style>${MESSAGE_STYLES}${SIGN_IN_STYLES}</style>`,
    body: `<main>
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join("\n")}
${email}
${providers}
<p class="hint">Operator: <code>${escapeHtml(loginLinkCommand(options.agentId))}</code> on the server prints a sign-in link. API clients: <code>POST /chatkit</code> with a bearer token (<code>npm run --silent session -- you@example.com</code>). Health check: <code>GET /healthz</code>.</p>
</main>`,
  });
}
