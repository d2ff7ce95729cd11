import { chatkitMode } from "../config/mode.ts";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import { escapeHtml, htmlDocument, jsonForScript } from "./html.ts";

export const CLIENT_SECRET_PATH = "/chatkit/client_secret";
export const LOGOUT_PATH = "/logout";

/** Appends a query parameter to a URL that may already carry a query string. */
function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}

/** `/chatkit?x=1` + `/upload` → `/chatkit/upload?x=1`. */
function withSubPath(url: string, subPath: string): string {
  const [path = "", query] = url.split("?", 2);
  return `${path.replace(/\/+$/, "")}${subPath}${query === undefined ? "" : `?${query}`}`;
}

/**
 * What the page hands to `<openai-chatkit>`'s `setOptions`, as JSON. In hosted mode the page
 * script adds `api.getClientSecret` (a function, so not JSON) that asks `clientSecretUrl`.
 */
export interface PageBootstrap {
  mode: "self-hosted" | "hosted";
  clientSecretUrl: string;
  options: Record<string, unknown>;
}

/** The agent's tools offered in the composer's tool menu (`composer.tools`); picking one forces it. */
export function composerTools(agent: AgentConfig): Array<Record<string, unknown>> {
  return agent.tools.flatMap((tool) =>
    tool.composer
      ? [{ id: tool.name, label: tool.composer.label, icon: tool.composer.icon ?? "sparkle", ...omitUndefined({ shortLabel: tool.composer.shortLabel, placeholderOverride: tool.composer.placeholderOverride, pinned: tool.composer.pinned }) }]
      : [],
  );
}

const omitUndefined = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

export function pageBootstrap(config: ChatkitConfig, agent: AgentConfig): PageBootstrap {
  const hosted = chatkitMode(config).kind === "hosted";
  const apiUrl = withQuery(config.chatkit.apiUrl, "agent_id", agent.id);
  const uploadStrategy =
    config.pages.uploadStrategy === "direct"
      ? { type: "direct", uploadUrl: withQuery(withSubPath(config.chatkit.apiUrl, "/upload"), "agent_id", agent.id) }
      : { type: "two_phase" };
  const options: Record<string, unknown> = {
    ...(hosted ? {} : { api: { url: apiUrl, domainKey: config.chatkit.domainKey, uploadStrategy } }),
    header: { title: { text: agent.name } },
    history: { enabled: true },
    threadItemActions: { feedback: true, retry: true },
    composer: {
      attachments: { enabled: true, maxSize: config.chatkit.uploadMaxBytes },
      ...(composerTools(agent).length ? { tools: composerTools(agent) } : {}),
    },
  };
  return { mode: hosted ? "hosted" : "self-hosted", clientSecretUrl: CLIENT_SECRET_PATH, options };
}

// Static, so the CSP nonce is its only permission: it reads the options from the JSON block.
const BOOT_SCRIPT = `
const boot = JSON.parse(document.getElementById("chatkit-bootstrap").textContent);
const options = boot.options;
if (boot.mode === "hosted") {
  options.api = {
    async getClientSecret(current) {
      const response = await fetch(boot.clientSecretUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ current: current ?? null }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.client_secret) throw new Error(body.message || "could not get a ChatKit client secret");
      return body.client_secret;
    },
  };
}
customElements.whenDefined("openai-chatkit").then(() => document.getElementById("chat").setOptions(options));
`;

const CHAT_STYLES = `
html, body { margin: 0; height: 100%; font-family: system-ui, sans-serif; }
body.chat { display: flex; flex-direction: column; }
body.chat > header { display: flex; align-items: center; gap: 1rem; padding: .5rem 1rem; border-bottom: 1px solid #ddd; }
body.chat > header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
body.chat > header form { margin: 0; }
body.chat > header .who { color: #555; font-size: .9rem; }
openai-chatkit { display: block; flex: 1; min-height: 0; width: 100%; }
body.standalone openai-chatkit { height: 100vh; }
`;

/**
 * The chat page (`standalone: false`: a header with the agent's name, who is signed in, and a
 * sign-out button above the chat, whose history panel lists the threads) or the chat alone,
 * filling the window.
 */
export function renderChatPage(input: {
  config: ChatkitConfig;
  agent: AgentConfig;
  nonce: string;
  standalone: boolean;
  userEmail: string;
}): string {
  const { config, agent, nonce } = input;
  const header = input.standalone
    ? ""
    : `<header>
<h1>${escapeHtml(agent.name)}</h1>
<span class="who">${escapeHtml(input.userEmail)}</span>
<form method="post" action="${LOGOUT_PATH}"><button type="submit">Sign out</button></form>
</header>`;
  return htmlDocument({
    title: agent.name,
    bodyClass: input.standalone ? "standalone" : "chat",
    head: `<style>${CHAT_STYLES}</style>
<script src="${escapeHtml(config.chatkit.scriptUrl)}" nonce="${escapeHtml(nonce)}" async></script>`,
    body: `${header}
<openai-chatkit id="chat" data-agent-id="${escapeHtml(agent.id)}"></openai-chatkit>
<script type="application/json" id="chatkit-bootstrap">${jsonForScript(pageBootstrap(config, agent))}</script>
<script type="module" nonce="${escapeHtml(nonce)}">${BOOT_SCRIPT}</script>`,
  });
}
