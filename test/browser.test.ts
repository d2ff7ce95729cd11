import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startTestServer, threadPage } from "./support/app.ts";
import { loginLinkFor } from "./support/browser.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "./support/chromium.ts";
import { ownerOf } from "./support/fixtures.ts";
import { run } from "./support/process.ts";


/**
 * Stands in for the CDN's web component. Like the real one it pulls in more of itself (a second
 * script, without the page's nonce) and talks to its own origin, so the page's CSP must allow that
 * origin for scripts and connections. The element's `setOptions` writes what it received into
 * `<pre id="received">` (functions named rather than dropped) and the fetch's outcome into
 * `<pre id="connect">`. Then, as the real client does when the user sends a message, it POSTs
 * `threads.create` to its `api.url` with the page's cookie, reads the event stream and writes the
 * event types and the assistant's final text into `<pre id="chat">`.
 */
const STAND_IN_LOADER = `
const part = document.createElement("script");
part.src = new URL("element.js", document.currentScript.src).href;
document.head.append(part);
`;
const STAND_IN_ELEMENT = `
const origin = new URL(document.currentScript.src).origin;
customElements.define("openai-chatkit", class extends HTMLElement {
  setOptions(options) {
    const pre = document.createElement("pre");
    pre.id = "received";
    pre.textContent = JSON.stringify(options, (key, value) => (typeof value === "function" ? "[function " + key + "]" : value));
    document.body.append(pre);
    const connect = document.createElement("pre");
    connect.id = "connect";
    document.body.append(connect);
    fetch(origin + "/ping").then((r) => r.text()).then((text) => (connect.textContent = text), () => (connect.textContent = "blocked"));
    const tools = document.createElement("pre");
    tools.id = "tools";
    document.body.append(tools);
    Promise.all([options.onClientTool({ name: "get_user_locale", params: {} }), options.onClientTool({ name: "open_garage", params: {} })])
      .then((outputs) => (tools.textContent = JSON.stringify(outputs)), (error) => (tools.textContent = "failed: " + error));
    const chat = document.createElement("pre");
    chat.id = "chat";
    document.body.append(chat);
    const input = { content: [{ type: "input_text", text: "hello from a browser" }], attachments: [], inference_options: {} };
    fetch(options.api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "threads.create", params: { input } }) })
      .then(async (response) => {
        const events = (await response.text()).split("\\n\\n").filter((frame) => frame.startsWith("data: ")).map((frame) => JSON.parse(frame.slice(6)));
        const done = events.filter((event) => event.type === "thread.item.done").at(-1);
        chat.textContent = JSON.stringify({ status: response.status, types: [...new Set(events.map((event) => event.type))], text: done?.item?.content?.[0]?.text });
      }, (error) => (chat.textContent = "failed: " + error));
  }
});
`;

async function serveStandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const bodies: Record<string, string> = { "/chatkit.js": STAND_IN_LOADER, "/element.js": STAND_IN_ELEMENT };
  const server: Server = createServer((req, res) => {
    const script = bodies[req.url ?? ""];
    if (script) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(script);
    } else if (req.url === "/ping") {
      res.writeHead(200, { "content-type": "text/plain", "access-control-allow-origin": "*" });
      res.end("pong");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/chatkit.js`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens a URL in headless Chromium (fresh profile, no network but what the page asks) and returns the DOM. */
async function dumpDom(url: string): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), "chatkit-chromium-"));
  try {
    const result = await run(
      CHROMIUM,
      [
        ...CHROMIUM_ARGS,
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(result.code, 0, `chromium failed: ${result.stderr.slice(-2000)}`);
    return result.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

test("a real browser signs in with a login link and the page configures the ChatKit element", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (Debian: apt-get install chromium); the browser check did not run`);
    return;
  }
  const standIn = await serveStandIn();
  const server = await startTestServer({ config: { chatkit: { scriptUrl: standIn.url, domainKey: "dk_browser_check" } } });
  try {
    const dom = await dumpDom(await loginLinkFor(server, "browser@example.com", "assistant"));
    assert.match(dom, /<h1>Assistant<\/h1>/, "landed on the chat page");
    assert.match(dom, /browser@example\.com/, "signed in as the link's user");
    const received = /<pre id="received">([^<]*)<\/pre>/.exec(dom);
    assert.ok(received, `the element received options (blocked by the CSP or not loaded?):\n${dom.slice(0, 3000)}`);
    const options = JSON.parse(received[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
    assert.equal(options.api.url, "/chatkit?agent_id=assistant");
    assert.equal(options.api.domainKey, "dk_browser_check");
    assert.equal(options.header.title.text, "Assistant");
    assert.match(dom, /<pre id="connect">pong<\/pre>/, "the component may call its own origin");
    assert.equal(options.onClientTool, "[function onClientTool]");
    const tools = /<pre id="tools">([^<]*)<\/pre>/.exec(dom);
    const [locale, refused] = JSON.parse(tools![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
    assert.equal(typeof locale.locale, "string", "the page answers the client tools it knows for the official element too");
    assert.equal(refused.error, "unknown_client_tool", "and refuses the others");

    const chat = /<pre id="chat">([^<]*)<\/pre>/.exec(dom);
    assert.ok(chat && chat[1], `the element's message got an answer:\n${dom.slice(-2000)}`);
    const outcome = JSON.parse(chat[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
    assert.equal(outcome.status, 200, "the cookie session and same-origin check let the page's POST through");
    assert.deepEqual(outcome.types.slice(0, 3), ["thread.created", "thread.item.done", "stream_options"]);
    assert.match(outcome.text, /built-in local responder[\s\S]*You said: "hello from a browser"/);
    const owner = await ownerOf(server, "browser@example.com");
    const listed = await threadPage(server.store, owner, { limit: 10, order: "desc" });
    assert.equal(listed.rows[0]?.title, "hello from a browser", "the browser's thread is stored for the signed-in user");
  } finally {
    await server.close({ removeData: true });
    await standIn.close();
  }
});

/** A page on another origin that sends the browser on to `url` as soon as it loads. */
async function serveForeignRedirect(url: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><meta http-equiv="refresh" content="0;url=${url}"><p>elsewhere</p>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("a real browser sent to a login link by another site gets the confirmation page, not a session", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (Debian: apt-get install chromium); the browser check did not run`);
    return;
  }
  const server = await startTestServer();
  const link = await loginLinkFor(server, "attacker@example.com");
  const foreign = await serveForeignRedirect(link);
  try {
    const dom = await dumpDom(foreign.url);
    assert.match(dom, /<h1>Sign in\?<\/h1>/, `landed on the confirmation page:\n${dom.slice(0, 2000)}`);
    assert.match(dom, /attacker@example\.com/, "which names the account");
    const links = await server.db.selectFrom("login_links").select("used_at").execute();
    assert.deepEqual(links, [{ used_at: null }], "the link is still unused");
  } finally {
    await foreign.close();
    await server.close({ removeData: true });
  }
});
