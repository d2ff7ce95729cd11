import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseConfig } from "../src/config/load.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { rawRequest, type RawResponse } from "./support/raw-http.ts";

/**
 * Behind an authenticating proxy: the proxy (here 127.0.0.2, a second loopback address) names
 * the user in a header and forwards the client's address and scheme. Only connections from the
 * trusted address are believed; the same headers from anyone else (127.0.0.1) change nothing.
 */

const PROXY = "127.0.0.2";
const DIRECT = "127.0.0.1";

describe("an authenticating proxy and X-Forwarded-* from trusted addresses only", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      config: { server: { trustProxy: [`${PROXY}/32`] }, signIn: { proxy: { header: "X-Forwarded-Email" } }, limits: { failedAuthPerMinute: 2 } },
    });
  });
  after(() => server.close({ removeData: true }));

  const chatkit = (from: string, headers: Record<string, string>, type = "threads.list"): Promise<RawResponse> =>
    rawRequest(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
      method: "POST",
      localAddress: from,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ type, params: {} }),
    });

  test("the proxy's user header signs in (and provisions) its user, on the API and the chat page", async () => {
    const users = (await server.store.counts()).users;
    const answer = await chatkit(PROXY, { "x-forwarded-email": "Pat@Example.com" });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body).data, []);
    const user = await server.store.users.findByEmail("pat@example.com");
    assert.ok(user);
    assert.deepEqual((await server.store.identities.listFor(user.id)).map((identity) => [identity.provider, identity.subject]), [["proxy", "pat@example.com"]]);
    assert.equal((await server.store.counts()).users, users + 1);
    const page = await rawRequest(`${server.url}/agents/${TEST_AGENT.id}/chatkit`, { localAddress: PROXY, headers: { "x-forwarded-email": "pat@example.com" } });
    assert.equal(page.status, 200);
    assert.match(page.body, /pat@example\.com/);
  });

  test("proxy users are isolated like any others: nobody sees another's threads", async () => {
    const created = await rawRequest(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
      method: "POST",
      localAddress: PROXY,
      headers: { "content-type": "application/json", "x-forwarded-email": "pat@example.com" },
      body: JSON.stringify({ type: "threads.create", params: { input: userInput("mine") } }),
    });
    assert.equal(created.status, 200);
    const threadId = /"thread":\{"id":"(thr_[\w-]+)"/.exec(created.body)?.[1];
    assert.ok(threadId, created.body);
    const quinn = { "x-forwarded-email": "quinn@example.com" };
    assert.deepEqual(JSON.parse((await chatkit(PROXY, quinn)).body).data, []);
    const read = await rawRequest(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
      method: "POST",
      localAddress: PROXY,
      headers: { "content-type": "application/json", ...quinn },
      body: JSON.stringify({ type: "threads.get_by_id", params: { thread_id: threadId } }),
    });
    assert.equal(read.status, 404);
    assert.equal(JSON.parse((await chatkit(PROXY, { "x-forwarded-email": "pat@example.com" })).body).data.length, 1);
  });

  test("the same header from any other address is ignored: 401, nobody created", async () => {
    const users = (await server.store.counts()).users;
    const answer = await chatkit(DIRECT, { "x-forwarded-email": "mallory@example.com" });
    assert.equal(answer.status, 401);
    assert.equal(JSON.parse(answer.body).error, "unauthorized");
    assert.equal(await server.store.users.findByEmail("mallory@example.com"), undefined);
    assert.equal((await server.store.counts()).users, users);
    assert.ok(server.logger.infoLines.some((line) => line.includes("auth sign_in_failed") && line.includes("reason=untrusted_peer")));
  });

  test("the header is ambient like a cookie: a cross-site request is refused", async () => {
    const answer = await chatkit(PROXY, { "x-forwarded-email": "pat@example.com", origin: "https://evil.example" }, "threads.create");
    assert.equal(answer.status, 403);
    assert.equal(JSON.parse(answer.body).error, "forbidden_origin");
  });

  test("X-Forwarded-For is believed from the proxy only: the throttle counts the real client", async () => {
    const guess = (from: string, forwardedFor: string) => chatkit(from, { authorization: "Bearer wrong-token", "x-forwarded-for": forwardedFor });
    // Directly, a client cannot pose as many addresses: its own address is what counts.
    assert.equal((await guess(DIRECT, "198.51.100.1")).status, 401);
    assert.equal((await guess(DIRECT, "198.51.100.2")).status, 401);
    assert.equal((await guess(DIRECT, "198.51.100.3")).status, 429);
    // Through the proxy, the address it forwards is the client (left entries are the client's own writing).
    assert.equal((await guess(PROXY, "1.1.1.1, 203.0.113.7")).status, 401);
    assert.equal((await guess(PROXY, "2.2.2.2, 203.0.113.7")).status, 401);
    assert.equal((await guess(PROXY, "3.3.3.3, 203.0.113.7")).status, 429);
    assert.equal((await guess(PROXY, "203.0.113.8")).status, 401, "another client behind the proxy is counted apart");
  });

  test("X-Forwarded-Proto: https from the proxy makes the session cookie Secure; from anyone else it does not", async () => {
    const signIn = async (from: string) => {
      const { user } = await server.store.users.findOrCreate("cookie@example.com");
      const { token } = await server.store.loginLinks.create(user.id, { agentId: null, ttlMs: 60_000 });
      const answer = await rawRequest(`${server.url}/login/${token}`, { localAddress: from, headers: { "sec-fetch-site": "none", "x-forwarded-proto": "https" } });
      assert.equal(answer.status, 303);
      return String(answer.headers["set-cookie"]);
    };
    const viaProxy = await signIn(PROXY);
    assert.match(viaProxy, /session_id=[^;]+;.*secure/i);
    assert.match(viaProxy, /samesite=lax/i);
    assert.match(viaProxy, /httponly/i);
    assert.doesNotMatch(await signIn(DIRECT), /secure/i);
  });
});

test("trustProxy: true means loopback only; addresses and CIDRs are checked; the proxy header needs trusted proxies", () => {
  const config = (input: Record<string, unknown>) => parseConfig({ agents: [TEST_AGENT], ...input });
  assert.deepEqual(config({ server: { trustProxy: true } }).server.trustProxy, ["127.0.0.0/8", "::1"]);
  assert.deepEqual(config({ server: { trustProxy: false } }).server.trustProxy, []);
  assert.deepEqual(config({ server: { trustProxy: ["10.0.0.0/8", "fd00::/8", "192.0.2.1"] } }).server.trustProxy, ["10.0.0.0/8", "fd00::/8", "192.0.2.1"]);
  const problems = (input: Record<string, unknown>) => {
    try {
      config(input);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
    assert.fail("the config was accepted");
  };
  assert.deepEqual(problems({ server: { trustProxy: ["10.0.0.0/33", "proxy.local"] } }), [
    'server.trustProxy[0]: an IP address or CIDR block, e.g. "10.0.0.0/8"',
    'server.trustProxy[1]: an IP address or CIDR block, e.g. "10.0.0.0/8"',
  ]);
  assert.deepEqual(problems({ signIn: { proxy: { header: "X-Forwarded-Email" } } }), [
    "signIn.proxy: list the proxy's addresses in server.trustProxy: the header is honoured only from them",
  ]);
  assert.deepEqual(problems({ signIn: { jwt: [{ issuer: "a", audience: "b", jwksUrl: "https://a.test/jwks", algorithms: ["HS256"] }] } }), [
    "signIn.jwt[0].algorithms[0]: HS256 does not fit: a JWKS holds public keys: use RS256, ES256, EdDSA…",
  ]);
  assert.deepEqual(problems({ signIn: { jwt: [{ issuer: "a", audience: "b" }] } }), ["signIn.jwt[0].jwksUrl: give either jwksUrl (public keys) or secret (HS256), not both or neither"]);
});
