import { upstreamOf } from "../agents/upstream.ts";
import { chatkitMode } from "../config/mode.ts";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import type { WebClientAssets } from "../webclient/assets.ts";
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
  /** The built-in client's files, when the page may fall back to it (`pages.ui: "auto"`). */
  builtin?: { script: string; style: string };
  /** Milliseconds the official script has to define its element before the fallback. */
  fallbackMs?: number;
  /** The module whose `runClientTool` answers the official element's client tools (`onClientTool`). */
  clientTools?: string;
  /** For the built-in client's one header: who is signed in and where to sign out (none when standalone). */
  page?: { userEmail: string; logoutPath: string };
}

/** Which client a chat page runs: hosted mode needs OpenAI's component, so it never gets ours. */
export type PageUi = "chatkit" | "builtin" | "auto";
export function pageUi(config: ChatkitConfig): PageUi {
  return chatkitMode(config).kind === "hosted" ? "chatkit" : config.pages.ui;
}

/**
 * How long `auto` waits for the official element before it runs the built-in client: a CDN that
 * never answers must not keep the page from being usable for more than about two seconds (the
 * built-in client's files are preloaded meanwhile, so it starts at once).
 */
export const FALLBACK_MS = 1500;
/** With no fallback (`chatkit`), how long the page waits for the element before it says it cannot start. */
const GIVE_UP_MS = 10_000;

/**
 * `composer` options for what this server can do for the agent: the models it may pick, voice
 * input when an upstream can transcribe, and the upload limits (shown before a file is sent).
 */
function composerOptions(config: ChatkitConfig, agent: AgentConfig): Record<string, unknown> {
  const allowed = config.chatkit.allowedMimeTypes;
  const models = agent.models.filter((model) => model !== agent.model);
  return {
    attachments: {
      enabled: true,
      maxSize: config.chatkit.uploadMaxBytes,
      ...(allowed.length > 0 ? { accept: Object.fromEntries(allowed.map((type) => [type, []])) } : {}),
    },
    ...(models.length > 0 && agent.model
      ? { models: [{ id: agent.model, label: agent.model, default: true }, ...models.map((id) => ({ id, label: id }))] }
      : {}),
    ...(upstreamOf(config, agent) ? { dictation: { enabled: true } } : {}),
    ...(composerTools(agent).length > 0 ? { tools: composerTools(agent) } : {}),
  };
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
    history: { enabled: true, showDelete: true, showRename: true },
    threadItemActions: { feedback: true, retry: true },
    composer: composerOptions(config, agent),
    ...(agent.startScreen ? { startScreen: agent.startScreen } : {}),
  };
  return { mode: hosted ? "hosted" : "self-hosted", clientSecretUrl: CLIENT_SECRET_PATH, options };
}

// Static, so the CSP nonce is its only permission: it reads the options from the JSON block.
// The official element gets the options once its script defines it; when the script fails to
// load (the head's catcher saw an error) or takes longer than `fallbackMs`, the page says so in one
// line and, with `auto`, runs the built-in client in its place instead of staying blank.
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
// The same client tools as the built-in client: known ones answered, any other refused, none left pending.
if (boot.clientTools) options.onClientTool = async ({ name, params }) => (await import(boot.clientTools)).runClientTool(name, params ?? {});
const chat = document.getElementById("chat");
const scriptOrigin = new URL(document.getElementById("chatkit-script").src).origin;
let settled = false;
function scriptFailed() {
  if (settled) return;
  settled = true;
  if (!boot.builtin) {
    const notice = document.createElement("p");
    notice.className = "chat-notice";
    notice.setAttribute("role", "status");
    notice.textContent = "The ChatKit component could not be loaded from " + scriptOrigin + ", so the chat cannot start. Check this browser's connection to it.";
    chat.replaceWith(notice);
    return;
  }
  // The built-in client draws the one header (with who is signed in) and says why it runs, once.
  const root = document.createElement("div");
  root.id = "chatkit-app";
  root.dataset.fallbackNotice = "The official ChatKit component did not load from " + scriptOrigin + " (offline or blocked?), so this is the built-in chat client.";
  root.append(...chat.childNodes);
  document.getElementById("page-header")?.remove();
  chat.replaceWith(root);
  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = boot.builtin.style;
  document.head.append(style);
  import(boot.builtin.script);
}
if (window.chatkitScriptFailed) scriptFailed();
else {
  addEventListener("chatkit-script-failed", scriptFailed);
  setTimeout(scriptFailed, boot.fallbackMs ?? ${GIVE_UP_MS});
}
customElements.whenDefined("openai-chatkit").then(() => {
  if (settled) return;
  settled = true;
  chat.setOptions(options);
});
`;

/** Runs before the official script can fail: a failed load fires no bubbling event, so catch it here. */
const SCRIPT_ERROR_CATCHER = `addEventListener("error", (event) => {
  if (event.target && event.target.id === "chatkit-script") {
    window.chatkitScriptFailed = true;
    dispatchEvent(new Event("chatkit-script-failed"));
  }
}, true);`;

const CHAT_STYLES = `
html, body { margin: 0; height: 100%; font-family: system-ui, sans-serif; }
body { display: flex; flex-direction: column; color-scheme: light dark; background: #fff; color: #1b1b1f; }
body.chat > header { display: flex; align-items: center; gap: 1rem; padding: 0 .75rem; min-height: 3rem; box-sizing: border-box; border-bottom: 1px solid #8884; flex-wrap: wrap; }
body.chat > header h1 { font-size: 1.05rem; margin: 0; flex: 1; }
body.chat > header form { margin: 0; }
body.chat > header button { font: inherit; font-size: .9rem; padding: .25rem .7rem; border-radius: 6px; border: 1px solid #8886; background: transparent; color: inherit; cursor: pointer; }
body.chat > header .who { opacity: .75; font-size: .9rem; overflow-wrap: anywhere; }
openai-chatkit { display: block; flex: 1; min-height: 0; width: 100%; }
body.standalone openai-chatkit { height: 100vh; }
.chat-notice { margin: 0; padding: .4rem 1rem; font-size: .9rem; background: #fff4d6; color: #5c4400; }
.chat-loading { flex: 1; display: flex; align-items: center; justify-content: center; gap: .6rem; margin: 0; color: #5f6068; }
openai-chatkit:defined .chat-loading { display: none; }
.chat-loading::before { content: ""; width: 1rem; height: 1rem; border: 2px solid #8886; border-top-color: currentColor; border-radius: 50%; animation: chat-spin .8s linear infinite; }
@keyframes chat-spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .chat-loading::before { animation: none; } }
openai-chatkit:not(:defined) { display: flex; }
@media (prefers-color-scheme: dark) { body { background: #17171a; color: #ececf1; } .chat-notice { background: #3d3210; color: #f6dd9a; } .chat-loading { color: #a4a5ae; } }
`;

/** What the page shows before a client has drawn anything: never a blank page. */
const LOADING = `<p class="chat-loading" role="status">Loading the chat…</p>`;

/**
 * The built-in client's frame as the server draws it, so the first paint already has the app's
 * header and a loading line (the stylesheet is in the head); the client replaces it when it runs.
 */
function builtinFrame(agent: AgentConfig): string {
  return `<div class="ck-app"><main class="ck-main"><header class="ck-topbar"><div class="ck-titles"><h1 class="ck-agent-name">${escapeHtml(agent.name)}</h1></div></header>
${LOADING}</main></div>`;
}

/**
 * The chat page (`standalone: false`: a header with the agent's name, who is signed in, and a
 * sign-out button above the chat, whose history panel lists the threads) or the chat alone,
 * filling the window. `pages.ui` picks the client: OpenAI's element, ours (`assets`), or the
 * first with ours as its fallback.
 */
export function renderChatPage(input: {
  config: ChatkitConfig;
  agent: AgentConfig;
  nonce: string;
  standalone: boolean;
  userEmail: string;
  assets: WebClientAssets | undefined;
}): string {
  const { config, agent, assets } = input;
  const nonce = escapeHtml(input.nonce);
  const ui = assets ? pageUi(config) : "chatkit";
  const header = input.standalone
    ? ""
    : `<header id="page-header">
<h1>${escapeHtml(agent.name)}</h1>
<span class="who">${escapeHtml(input.userEmail)}</span>
<form method="post" action="${LOGOUT_PATH}"><button type="submit">Sign out</button></form>
</header>`;
  const bootstrap = pageBootstrap(config, agent);
  if (!input.standalone) bootstrap.page = { userEmail: input.userEmail, logoutPath: LOGOUT_PATH };
  const bodyClass = input.standalone ? "standalone" : "chat";
  if (ui === "builtin" && assets) {
    // One header: the built-in client's own, with who is signed in and the sign-out button.
    return htmlDocument({
      title: agent.name,
      bodyClass,
      head: `<style>${CHAT_STYLES}</style>
<link rel="stylesheet" href="${escapeHtml(assets.style.path)}">`,
      body: `<div id="chatkit-app">${builtinFrame(agent)}</div>
<script type="application/json" id="chatkit-bootstrap">${jsonForScript(bootstrap)}</script>
<script type="module" src="${escapeHtml(assets.script.path)}" nonce="${nonce}"></script>`,
    });
  }
  let preload = "";
  if (assets) bootstrap.clientTools = assets.clientTools.path;
  if (ui === "auto" && assets) {
    bootstrap.builtin = { script: assets.script.path, style: assets.style.path };
    bootstrap.fallbackMs = FALLBACK_MS;
    preload = `
<link rel="modulepreload" href="${escapeHtml(assets.script.path)}">
<link rel="preload" as="style" href="${escapeHtml(assets.style.path)}">`;
  }
  return htmlDocument({
    title: agent.name,
    bodyClass,
    head: `<style>${CHAT_STYLES}</style>
<script nonce="${nonce}">${SCRIPT_ERROR_CATCHER}</script>
<script id="chatkit-script" src="${escapeHtml(config.chatkit.scriptUrl)}" nonce="${nonce}" async></script>${preload}`,
    body: `${header}
<openai-chatkit id="chat" data-agent-id="${escapeHtml(agent.id)}">${LOADING}</openai-chatkit>
<script type="application/json" id="chatkit-bootstrap">${jsonForScript(bootstrap)}</script>
<script type="module" nonce="${nonce}">${BOOT_SCRIPT}</script>`,
  });
}
