import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseConfig } from "../src/config/load.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { signIn } from "./support/browser.ts";

/** A stand-in for OpenAI's `POST /v1/chatkit/sessions`, recording what it was sent. */
async function fakeChatkitSessions(status = 200) {
  const received: Array<{ path: string; headers: IncomingHttpHeaders; body: any }> = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: raw ? JSON.parse(raw) : undefined });
      if (req.method !== "POST" || req.url !== "/v1/chatkit/sessions" || status !== 200) {
        res.writeHead(status === 200 ? 404 : status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "no", type: "server_error" } }));
        return;
      }
      const body = JSON.parse(raw);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({
        object: "chatkit.session", id: "cksess_1", client_secret: `ek_for_${body.user}`, expires_at: 9_999_999_999,
        status: "active", user: body.user, workflow: { id: body.workflow.id, version: null, state_variables: null, tracing: { enabled: true } },
        chatkit_configuration: {}, rate_limits: { max_requests_per_1_minute: 10 }, max_requests_per_1_minute: 10,
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function askSecret(server: TestServer, headers: Record<string, string>) {
  return fetch(`${server.url}/chatkit/client_secret`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
}

describe("hosted mode client secret minted for a workflow", () => {
  let upstream: Awaited<ReturnType<typeof fakeChatkitSessions>>;
  let server: TestServer;
  before(async () => {
    upstream = await fakeChatkitSessions();
    server = await startTestServer({ config: { chatkit: { workflowId: "wf_test_42" }, openai: { apiKey: "sk-test-key", baseURL: upstream.baseURL } } });
  });
  after(async () => {
    await server.close({ removeData: true });
    await upstream.close();
  });

  test("the signed-in user gets a secret from the ChatKit sessions API for the workflow", async () => {
    const token = await server.token("hosted@example.com");
    const response = await askSecret(server, { authorization: `Bearer ${token}` });
    assert.equal(response.status, 200);
    const user = await server.store.users.findByEmail("hosted@example.com");
    assert.deepEqual(await response.json(), { client_secret: `ek_for_${user!.id}` });
    const call = upstream.received.at(-1)!;
    assert.equal(call.path, "/v1/chatkit/sessions");
    assert.equal(call.headers.authorization, "Bearer sk-test-key");
    assert.match(String(call.headers["openai-beta"]), /chatkit_beta=v1/);
    assert.deepEqual(call.body, {
      user: user!.id,
      workflow: { id: "wf_test_42" },
      chatkit_configuration: { file_upload: { enabled: true, max_file_size: 25, max_files: 10 }, history: { enabled: true } },
    }, "the session allows the uploads the page offers, within chatkit.uploadMaxBytes (25 MiB)");
  });

  test("a browser session works from our origin and is refused from another site", async () => {
    const cookie = await signIn(server, "browser@example.com");
    assert.equal((await askSecret(server, { cookie, origin: server.url })).status, 200);
    const foreign = await askSecret(server, { cookie, origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as any).error, "forbidden_origin");
  });

  test("without a session there is no secret", async () => {
    const before = upstream.received.length;
    const response = await askSecret(server, {});
    assert.equal(response.status, 401);
    assert.equal(upstream.received.length, before, "nothing was minted");
  });
});

test("an upstream failure answers 502 client_secret_failed and is logged", async () => {
  const upstream = await fakeChatkitSessions(500);
  const server = await startTestServer({ config: { chatkit: { workflowId: "wf_x" }, openai: { apiKey: "sk-test", baseURL: upstream.baseURL } } });
  try {
    const response = await askSecret(server, { authorization: `Bearer ${await server.token()}` });
    assert.equal(response.status, 502);
    assert.equal(((await response.json()) as any).error, "client_secret_failed");
    assert.ok(server.logger.lines.some((line) => line.includes("wf_x")));
  } finally {
    await server.close({ removeData: true });
    await upstream.close();
  }
});

test("a static client secret is answered as configured", async () => {
  const server = await startTestServer({ config: { chatkit: { clientSecret: "cs_static" } } });
  try {
    const response = await askSecret(server, { authorization: `Bearer ${await server.token()}` });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { client_secret: "cs_static" });
  } finally {
    await server.close({ removeData: true });
  }
});

test("with neither configured the answer is 404 client_secret_unavailable", async () => {
  const server = await startTestServer();
  try {
    const response = await askSecret(server, { authorization: `Bearer ${await server.token()}` });
    assert.equal(response.status, 404);
    const body = (await response.json()) as any;
    assert.equal(body.error, "client_secret_unavailable");
    assert.match(body.message, /Hosted mode is not configured/);
  } finally {
    await server.close({ removeData: true });
  }
});

test("a workflow without an API key fails config validation, naming the key", () => {
  assert.throws(
    () => parseConfig({ agents: [TEST_AGENT], chatkit: { workflowId: "wf_1" } }),
    (error: unknown) => error instanceof ConfigError && /chatkit\.workflowId: .*OPENAI_API_KEY/.test(error.message),
  );
  assert.equal(parseConfig({ agents: [TEST_AGENT] }, { CHATKIT_WORKFLOW_ID: "wf_env", OPENAI_API_KEY: "sk" }).chatkit.workflowId, "wf_env");
});
