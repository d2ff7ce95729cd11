import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { WEBCLIENT_DIST } from "../src/webclient/assets.ts";
import { parseConfig } from "../src/config/load.ts";
import { defineTool, z } from "../src/index.ts";
import { pageBootstrap } from "../src/pages/chat-page.ts";
import { after, before, describe, test } from "node:test";
import { DEFAULT_SCRIPT_URL } from "../src/config/schema.ts";
import { chatPagePolicy } from "../src/pages/csp.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { signIn } from "./support/browser.ts";

const HOSTILE_NAME = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&`;
const SCRIPT_URL = "https://cdn.example.test/chatkit/chatkit.js";

/** The JSON the page hands to its boot script. */
function bootstrapOf(html: string): any {
  const match = /<script type="application\/json" id="chatkit-bootstrap">([^<]*)<\/script>/.exec(html);
  assert.ok(match, "the page carries the bootstrap JSON");
  return JSON.parse(match[1]!);
}

describe("chat pages", () => {
  let server: TestServer;
  let cookie: string;
  before(async () => {
    server = await startTestServer({
      config: {
        agents: [
          { id: "assistant", name: "Assistant", model: "test-model" },
          { id: "evil", name: HOSTILE_NAME, model: "test-model" },
        ],
        chatkit: { scriptUrl: SCRIPT_URL, domainKey: "dk_test_123", apiUrl: "/chatkit" },
        pages: { extraOrigins: ["https://fonts.example.test"] },
      },
    });
    cookie = await signIn(server, "pages@example.com");
  });
  after(() => server.close({ removeData: true }));

  const get = (path: string, headers: Record<string, string> = { cookie }) => fetch(`${server.url}${path}`, { headers });

  test("the chat page loads the configured script and configures the element for this server and agent", async () => {
    const response = await get("/agents/assistant/chatkit");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/html/);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const html = await response.text();
    assert.match(html, new RegExp(`<script id="chatkit-script" src="${SCRIPT_URL.replace(/\./g, "\\.")}" nonce="[^"]+" async></script>`));
    assert.match(html, /<h1>Assistant<\/h1>/);
    assert.match(html, /pages@example\.com/);
    assert.match(html, /<form method="post" action="\/logout">/);
    const boot = bootstrapOf(html);
    assert.equal(boot.mode, "self-hosted");
    assert.deepEqual(boot.options.api, {
      url: "/chatkit?agent_id=assistant",
      domainKey: "dk_test_123",
      uploadStrategy: { type: "direct", uploadUrl: "/chatkit/upload?agent_id=assistant" },
    });
    assert.deepEqual(boot.options.history, { enabled: true, showDelete: true, showRename: true });
    assert.equal(boot.fallbackMs, 1500, "auto (the default): the built-in client if the script has not come within 1.5 s");
    assert.match(boot.builtin.script, /^\/webclient\/app\.[0-9a-f]{12}\.js$/);
    assert.ok(html.includes(`<link rel="modulepreload" href="${boot.builtin.script}">`), "the fallback's code is fetched meanwhile");
    assert.match(html, /<openai-chatkit id="chat" data-agent-id="assistant"><p class="chat-loading" role="status">Loading the chat…<\/p><\/openai-chatkit>/, "a loading line until a client draws");
    assert.deepEqual(boot.page, { userEmail: "pages@example.com", logoutPath: "/logout" }, "for the built-in client's one header");
  });

  test("a strict CSP with a fresh nonce allows only our origin, the script's and the configured ones", async () => {
    const first = await get("/agents/assistant/chatkit");
    const second = await get("/agents/assistant/chatkit");
    const policy = first.headers.get("content-security-policy")!;
    const directives = new Map(policy.split(";").map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/);
      return [name!, sources] as const;
    }));
    const nonce = /'nonce-([^']+)'/.exec(policy)![1]!;
    assert.notEqual(nonce, /'nonce-([^']+)'/.exec(second.headers.get("content-security-policy")!)![1], "a nonce per response");
    const html = await first.text();
    const scriptTags = html.match(/<script[^>]*>/g)!;
    for (const tag of scriptTags.filter((t) => !t.includes("application/json"))) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
    for (const name of ["script-src", "connect-src", "frame-src", "img-src"]) {
      const sources = directives.get(name)!;
      assert.ok(sources.includes("'self'"), `${name} allows us`);
      assert.ok(sources.includes("https://cdn.example.test"), `${name} allows the script's origin`);
      assert.ok(sources.includes("https://fonts.example.test"), `${name} allows configured origins`);
      assert.ok(!sources.includes("*") && !sources.includes("https:"), `${name} has no wildcard`);
    }
    assert.ok(!directives.get("script-src")!.includes("'unsafe-inline'"));
    assert.ok(!directives.get("script-src")!.includes("'unsafe-eval'"));
    assert.deepEqual(directives.get("object-src"), ["'none'"]);
    assert.deepEqual(directives.get("base-uri"), ["'none'"]);
    assert.ok(!directives.get("connect-src")!.includes("https://api.openai.com"), "OpenAI's API only when the element comes from OpenAI");
  });

  test("with the element from OpenAI's CDN, the page may also reach OpenAI's API (domain-key check)", async () => {
    const policy = chatPagePolicy({ nonce: "n", scriptUrl: DEFAULT_SCRIPT_URL, apiUrl: "/chatkit", extraOrigins: [] });
    const connect = policy.split("; ").find((d) => d.startsWith("connect-src "))!.split(" ");
    assert.deepEqual(connect.slice(1), ["'self'", "https://cdn.platform.openai.com", "https://api.openai.com"]);
    const script = policy.split("; ").find((d) => d.startsWith("script-src "))!;
    assert.ok(!script.includes("api.openai.com"), "scripts still come only from the CDN and us");
  });

  test("a hostile agent name comes out inert in the markup and intact in the JSON", async () => {
    const response = await get("/agents/evil/chatkit");
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.ok(!html.includes("<script>alert(1)"), "no injected script element");
    assert.ok(!html.includes("<img src=x"), "no injected image element");
    assert.equal(html.match(/<script/g)!.length, 4, "only the page's own four script elements");
    assert.match(html, /<title>&lt;\/script&gt;&lt;script&gt;alert\(1\)/);
    assert.match(html, /<h1>&lt;\/script&gt;/);
    assert.equal(bootstrapOf(html).options.header.title.text, HOSTILE_NAME);
  });

  test("the standalone page is the chat alone, configured the same way", async () => {
    const response = await get("/agents/assistant/chatkit_standalone");
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.ok(!html.includes("<header>"));
    assert.match(html, /<body class="standalone">/);
    assert.match(html, /<openai-chatkit id="chat" data-agent-id="assistant">/);
    assert.equal(bootstrapOf(html).options.api.url, "/chatkit?agent_id=assistant");
  });

  test("an unknown agent gets a 404 page, escaped", async () => {
    const response = await get(`/agents/${encodeURIComponent("<b>nope</b>")}/chatkit`);
    assert.equal(response.status, 404);
    assert.match(response.headers.get("content-type")!, /text\/html/);
    const html = await response.text();
    assert.match(html, /No such agent/);
    assert.ok(!html.includes("<b>nope"));
  });

  test("a favicon (also at /favicon.ico) and a web app manifest, linked from every page and allowed by its CSP", async () => {
    for (const path of ["/favicon.svg", "/favicon.ico"]) {
      const icon = await get(path, {});
      assert.equal(icon.status, 200, path);
      assert.equal(icon.headers.get("content-type"), "image/svg+xml");
      assert.match(await icon.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
    const manifest = await get("/manifest.webmanifest", {});
    assert.equal(manifest.status, 200);
    assert.match(manifest.headers.get("content-type")!, /^application\/manifest\+json/);
    assert.deepEqual(((await manifest.json()) as { icons: unknown }).icons, [{ src: "/favicon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" }]);
    for (const [path, headers] of [["/agents/assistant/chatkit", { cookie }], ["/agents/assistant/chatkit", {}], ["/", {}]] as const) {
      const page = await get(path, headers);
      const html = await page.text();
      assert.ok(html.includes('<link rel="icon" href="/favicon.svg" type="image/svg+xml">') && html.includes('<link rel="manifest" href="/manifest.webmanifest">'), path);
      const policy = page.headers.get("content-security-policy")!;
      assert.match(policy, /(img-src|default-src) 'self'/, `${path}: the icon may load`);
    }
  });

  test("without a session the page says how to get a login link", async () => {
    for (const headers of [{}, { cookie: "session_id=forged; session_id.sig=forged" }] as Array<Record<string, string>>) {
      const response = await get("/agents/assistant/chatkit_standalone", headers);
      assert.equal(response.status, 401);
      assert.match(response.headers.get("content-security-policy")!, /default-src 'none'/);
      const html = await response.text();
      assert.match(html, /npm run --silent login-link -- you@example\.com --agent assistant/);
      assert.ok(!html.includes("openai-chatkit"));
    }
  });
});

test("in hosted mode the page asks our client secret route instead of configuring an API url", async () => {
  const server = await startTestServer({ config: { chatkit: { clientSecret: "cs_static_secret", apiUrl: "https://api.example.test/chatkit?tenant=1" } } });
  try {
    const html = await (await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: await signIn(server, "hosted@example.com") } })).text();
    const boot = bootstrapOf(html);
    assert.equal(boot.mode, "hosted");
    assert.equal(boot.clientSecretUrl, "/chatkit/client_secret");
    assert.equal(boot.options.api, undefined);
    assert.ok(!html.includes("cs_static_secret"), "the secret is fetched, never embedded");
    assert.equal(boot.builtin, undefined, "hosted chats need OpenAI's component: no built-in fallback");
  } finally {
    await server.close({ removeData: true });
  }
});

test("an absolute api url keeps its query, carries the agent id and is allowed to connect", async () => {
  const server = await startTestServer({ config: { chatkit: { apiUrl: "https://api.example.test/chatkit?tenant=1" } } });
  try {
    const response = await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: await signIn(server, "abs@example.com") } });
    const boot = bootstrapOf(await response.text());
    assert.equal(boot.options.api.url, "https://api.example.test/chatkit?tenant=1&agent_id=assistant");
    assert.equal(boot.options.api.uploadStrategy.uploadUrl, "https://api.example.test/chatkit/upload?tenant=1&agent_id=assistant");
    assert.match(response.headers.get("content-security-policy")!, /connect-src [^;]*https:\/\/api\.example\.test/);
  } finally {
    await server.close({ removeData: true });
  }
});

test("pages.ui builtin: our client's files only, a CSP of our own origin, on both chat pages", async () => {
  const server = await startTestServer({ config: { pages: { ui: "builtin" }, chatkit: { scriptUrl: SCRIPT_URL } } });
  try {
    const cookie = await signIn(server, "builtin@example.com");
    for (const page of ["chatkit", "chatkit_standalone"]) {
      const response = await fetch(`${server.url}/agents/assistant/${page}`, { headers: { cookie } });
      assert.equal(response.status, 200);
      const policy = response.headers.get("content-security-policy")!;
      assert.ok(!policy.includes("cdn.example.test"), `nothing from the CDN: ${policy}`);
      assert.match(policy, /script-src 'self' 'nonce-[^']+'(;|$)/);
      assert.match(policy, /connect-src 'self'(;|$)/);
      const html = await response.text();
      assert.ok(!html.includes("<openai-chatkit") && !html.includes(`src="${SCRIPT_URL}"`), "no official element");
      assert.match(html, /<div id="chatkit-app"><div class="ck-app">.*<h1 class="ck-agent-name">Assistant<\/h1>[\s\S]*<p class="chat-loading" role="status">Loading the chat…<\/p>/, "the first paint has the app's frame and a loading line");
      assert.ok(!html.includes('<header id="page-header">'), "one header: the client's own");
      const script = /<script type="module" src="(\/webclient\/app\.[0-9a-f]{12}\.js)" nonce="[^"]+"><\/script>/.exec(html);
      const style = /<link rel="stylesheet" href="(\/webclient\/app\.[0-9a-f]{12}\.css)">/.exec(html);
      assert.ok(script && style, "the page loads our bundle");
      const js = await fetch(`${server.url}${script[1]}`, { headers: { "accept-encoding": "gzip" } });
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type")!, /^text\/javascript/);
      assert.equal(js.headers.get("content-encoding"), "gzip");
      assert.match(js.headers.get("cache-control")!, /immutable/);
      assert.ok((await js.text()).length > 10_000);
      assert.equal((await fetch(`${server.url}${style[1]}`)).status, 200);
    }
    assert.equal((await fetch(`${server.url}/webclient/app.000000000000.js`)).status, 404, "an old hash is gone");
    const chartChunk = readdirSync(WEBCLIENT_DIST).find((name) => name.startsWith("chart-") && name.endsWith(".js"));
    assert.ok(chartChunk, "the chart code is a chunk of its own");
    const chunk = await fetch(`${server.url}/webclient/${chartChunk}`);
    assert.equal(chunk.status, 200, "served beside app.js, which imports it by this name");
    assert.match(chunk.headers.get("cache-control")!, /immutable/);
  } finally {
    await server.close({ removeData: true });
  }
});

test("the composer offers what the server can do: the agent's models, dictation with an upstream, the accepted types", async () => {
  const server = await startTestServer({
    config: {
      agents: [
        { id: "assistant", name: "Assistant", model: "model-a", models: ["model-b"] },
        { id: "plain", name: "Plain", model: "model-a" },
      ],
      chatkit: { allowedMimeTypes: ["image/png", "application/pdf"], uploadMaxBytes: 1234 },
      openai: { baseURL: "http://127.0.0.1:9/v1" },
    },
  });
  try {
    const cookie = await signIn(server, "composer@example.com");
    const composer = async (agent: string) =>
      bootstrapOf(await (await fetch(`${server.url}/agents/${agent}/chatkit`, { headers: { cookie } })).text()).options.composer;
    assert.deepEqual(await composer("assistant"), {
      attachments: { enabled: true, maxSize: 1234, accept: { "image/png": [], "application/pdf": [] } },
      models: [
        { id: "model-a", label: "model-a", default: true },
        { id: "model-b", label: "model-b" },
      ],
      dictation: { enabled: true },
    });
    const plain = await composer("plain");
    assert.equal(plain.models, undefined, "no picker when the agent allows one model");
  } finally {
    await server.close({ removeData: true });
  }
  const local = await startTestServer();
  try {
    const html = await (await fetch(`${local.url}/agents/assistant/chatkit`, { headers: { cookie: await signIn(local, "local@example.com") } })).text();
    assert.equal(bootstrapOf(html).options.composer.dictation, undefined, "no dictation without an upstream to transcribe");
  } finally {
    await local.close({ removeData: true });
  }
});

test("/ sends a signed-in person to the first agent's chat and tells anyone else how to sign in", async () => {
  const server = await startTestServer();
  try {
    const signedIn = await fetch(`${server.url}/`, { headers: { cookie: await signIn(server, "front@example.com") }, redirect: "manual" });
    assert.equal(signedIn.status, 302);
    assert.equal(signedIn.headers.get("location"), "/agents/assistant/chatkit");
    const anonymous = await fetch(`${server.url}/`, { redirect: "manual" });
    assert.equal(anonymous.status, 200);
    assert.match(anonymous.headers.get("content-type")!, /^text\/html/);
    const html = await anonymous.text();
    assert.match(html, /npm run --silent login-link -- you@example\.com/);
    assert.match(html, /\/healthz/);
  } finally {
    await server.close({ removeData: true });
  }
});

describe("what the page offers the composer", () => {
  test("tools marked for the composer appear in its tool menu; others and tool-less agents add none", () => {
    const offered = defineTool({
      name: "order_status",
      description: "d",
      parameters: z.object({}),
      composer: { label: "Order status", icon: "search", pinned: true },
      handler: () => "ok",
    });
    const internal = defineTool({ name: "internal", description: "d", parameters: z.object({}), handler: () => "ok" });
    const config = parseConfig({ agents: [{ ...TEST_AGENT, tools: [offered, internal] }, { id: "plain", name: "Plain", model: "m" }] });
    assert.deepEqual(pageBootstrap(config, config.agents[0]!).options.composer, {
      attachments: { enabled: true, maxSize: config.chatkit.uploadMaxBytes },
      tools: [{ id: "order_status", label: "Order status", icon: "search", pinned: true }],
    });
    assert.equal((pageBootstrap(config, config.agents[1]!).options.composer as { tools?: unknown }).tools, undefined);
  });

  test("an agent's startScreen reaches the official element as its startScreen option; none is sent when unset", () => {
    const startScreen = { greeting: "Where to?", prompts: [{ label: "Rome", prompt: "Plan a trip to Rome", icon: "map-pin" }] };
    const config = parseConfig({ agents: [{ ...TEST_AGENT, startScreen }, { id: "plain", name: "Plain", model: "m" }] });
    assert.deepEqual(pageBootstrap(config, config.agents[0]!).options.startScreen, startScreen);
    assert.equal(pageBootstrap(config, config.agents[1]!).options.startScreen, undefined);
    assert.throws(() => parseConfig({ agents: [{ ...TEST_AGENT, startScreen: { prompts: [{ label: "No prompt" }] } }] }), /agents\[0\]\.startScreen\.prompts\[0\]\.prompt: Invalid input/);
  });
});
