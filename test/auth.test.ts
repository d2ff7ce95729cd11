import assert from "node:assert/strict";
import Keygrip from "keygrip";
import { after, before, describe, test } from "node:test";
import { resolveCookieKeys } from "../src/config/secrets.ts";
import { startTestServer, type TestServer } from "./support/app.ts";
import { seedThread } from "./support/fixtures.ts";

function signedCookie(keys: string[], value: string): string {
  const signature = new Keygrip(keys, "sha256").sign(`session_id=${value}`);
  return `session_id=${value}; session_id.sig=${signature}`;
}

describe("authentication", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  async function listWith(headers: Record<string, string>) {
    const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ type: "threads.list", params: {} }),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  test("no credentials, an unknown token or a malformed header answer 401 unauthorized", async () => {
    for (const headers of [{} as Record<string, string>, { authorization: "Bearer not-a-token" }, { authorization: "Basic abc" }, { authorization: "Bearer " }]) {
      const { status, body } = await listWith(headers);
      assert.equal(status, 401);
      assert.equal(body.error, "unauthorized");
    }
  });

  test("a revoked session, an expired one and a disabled user are refused", async () => {
    const { user } = await server.store.users.findOrCreate("revoked@example.com");
    const { token, session } = await server.store.sessions.create(user.id, 1);
    assert.equal((await listWith({ authorization: `Bearer ${token}` })).status, 200);
    await server.store.sessions.revoke(session.id);
    assert.equal((await listWith({ authorization: `Bearer ${token}` })).status, 401);

    const expired = await server.store.sessions.create(user.id, 1);
    await server.db.updateTable("sessions").set({ expires_at: Date.now() - 1 }).where("id", "=", expired.session.id).execute();
    assert.equal((await listWith({ authorization: `Bearer ${expired.token}` })).status, 401);

    const live = await server.store.sessions.create(user.id, null);
    await server.store.users.setDisabled({ email: "revoked@example.com" }, true);
    assert.equal((await listWith({ authorization: `Bearer ${live.token}` })).status, 401);
    await server.store.users.setDisabled({ email: "revoked@example.com" }, false);
    assert.equal((await listWith({ authorization: `Bearer ${live.token}` })).status, 200);
  });

  test("tokens are stored only as hashes", async () => {
    const token = await server.token("hash@example.com");
    const rows = await server.db.selectFrom("sessions").select("token_hash").execute();
    assert.ok(rows.every((row) => row.token_hash !== token && /^[0-9a-f]{64}$/.test(row.token_hash)));
    assert.ok(token.length >= 22, "at least 128 bits");
  });

  test("the signed session_id cookie authenticates; a forged signature does not", async () => {
    const token = await server.token("cookie@example.com");
    const keys = resolveCookieKeys(server.config);
    const ok = await listWith({ cookie: signedCookie(keys, token) });
    assert.equal(ok.status, 200);
    const forged = await listWith({ cookie: signedCookie(["some-other-key-of-16+chars"], token) });
    assert.equal(forged.status, 401);
    const unsigned = await listWith({ cookie: `session_id=${token}` });
    assert.equal(unsigned.status, 401);
  });

  test("a cookie session refuses cross-site requests but a bearer one does not care", async () => {
    const token = await server.token("csrf@example.com");
    const cookie = signedCookie(resolveCookieKeys(server.config), token);
    const foreign = await listWith({ cookie, origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error, "forbidden_origin");
    const crossSite = await listWith({ cookie, "sec-fetch-site": "cross-site" });
    assert.equal(crossSite.status, 403);
    const sameOrigin = await listWith({ cookie, origin: server.url });
    assert.equal(sameOrigin.status, 200);
    const bearer = await listWith({ authorization: `Bearer ${token}`, origin: "https://evil.example" });
    assert.equal(bearer.status, 200);
  });
});

test("a cookie signed with an older key still works and comes back re-signed with the new key and full attributes", async () => {
  const [newKey, oldKey] = ["the-new-cookie-key-0123456789", "the-old-cookie-key-0123456789"];
  const server = await startTestServer({ config: { cookieKeys: [newKey, oldKey], signIn: { sessionDays: 7 } } });
  try {
    const { user } = await server.store.users.findOrCreate("rotated@example.com");
    const { token, session } = await server.store.sessions.create(user.id, 7);
    const response = await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: signedCookie([oldKey], token) } });
    assert.equal(response.status, 200, "the request itself is signed in");
    assert.match(await response.text(), /rotated@example\.com/);

    const lines = response.headers.getSetCookie();
    const value = lines.find((line) => line.startsWith("session_id="));
    const signature = lines.find((line) => line.startsWith("session_id.sig="));
    assert.ok(value && signature, `both cookies are re-issued: ${lines.join(" | ")}`);
    assert.equal(value.split(";", 1)[0], `session_id=${token}`);
    assert.equal(signature.split(";", 1)[0], signedCookie([newKey], token).split("; ")[1], "signed with the new key");
    for (const line of [value, signature]) {
      assert.match(line, /; httponly/i);
      assert.match(line, /; samesite=lax/i);
      assert.match(line, /; path=\//i);
      const expires = Date.parse(/; expires=([^;]+)/i.exec(line)?.[1] ?? "");
      assert.ok(Math.abs(expires - session.expires_at!) < 60_000, `expires with the session: ${line}`);
    }

    const current = await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: signedCookie([newKey], token) } });
    assert.equal(current.status, 200);
    assert.equal(current.headers.getSetCookie().length, 0, "a cookie signed with the current key is left alone");
  } finally {
    await server.close({ removeData: true });
  }
});

describe("isolation between users", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("user B can neither see, list, change nor delete user A's thread", async () => {
    const { threadId, items } = await seedThread(server, { email: "a@example.com", count: 2 });
    const bob = await server.token("b@example.com");
    const attempts: Array<[string, object]> = [
      ["threads.get_by_id", { thread_id: threadId }],
      ["threads.update", { thread_id: threadId, title: "mine now" }],
      ["threads.delete", { thread_id: threadId }],
      ["items.list", { thread_id: threadId }],
      ["items.feedback", { thread_id: threadId, item_ids: [items[0]!.id], kind: "negative" }],
    ];
    for (const [type, params] of attempts) {
      const { status, body } = await server.request(type, params, { token: bob });
      assert.equal(status, 404, type);
      assert.equal(body.error, "thread_not_found", type);
    }
    const listed = await server.request("threads.list", {}, { token: bob });
    assert.deepEqual(listed.body, { data: [], has_more: false });

    const alice = await server.token("a@example.com");
    const intact = await server.request("threads.get_by_id", { thread_id: threadId }, { token: alice });
    assert.equal(intact.status, 200);
    assert.ok(!("title" in intact.body));
    assert.equal(intact.body.items.data.length, 2);
    const feedback = await server.db.selectFrom("item_feedback").selectAll().execute();
    assert.deepEqual(feedback, []);
  });
});
