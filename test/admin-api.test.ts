import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { cookieHeader, openWithoutRedirect, signIn } from "./support/browser.ts";

/**
 * The admin JSON API (`/admin/api/`): admins by the config or by role; everyone else signed in
 * gets 403, nobody signed in 401. Every change is one log line with the request id, and counted.
 */

describe("admin API", () => {
  let server: TestServer;
  let root: string;
  let ann: string;

  before(async () => {
    server = await startTestServer({ config: { admins: ["Root@Example.com"], server: { metrics: { enabled: true } } } });
    root = await server.token("root@example.com");
    ann = await server.token("ann@example.com");
  });
  after(() => server.close({ removeData: true }));

  const api = async (method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/admin/api${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const userId = async (email: string) => (await server.store.users.findByEmail(email))!.id;
  const chat = (token: string) => server.request("threads.list", {}, { token });

  test("an address in `admins` is an admin; an ordinary user gets 403 forbidden everywhere; nobody signed in 401", async () => {
    const listed = await api("GET", "/users", root);
    assert.equal(listed.status, 200);
    const rootRow = listed.body.users.find((user: { email: string }) => user.email === "root@example.com");
    assert.equal(rootRow.role, "admin");
    assert.equal(typeof rootRow.created_at, "string");
    const annId = await userId("ann@example.com");
    const routes: Array<[string, string, unknown?]> = [
      ["GET", "/users"],
      ["GET", `/users/${annId}`],
      ["POST", "/users/invite", { email: "x@example.com" }],
      ["POST", `/users/${annId}/disable`],
      ["POST", `/users/${annId}/enable`],
      ["POST", `/users/${annId}/revoke-sessions`],
      ["PUT", `/users/${annId}/role`, { role: "admin" }],
    ];
    for (const [method, path, body] of routes) {
      const refused = await api(method, path, ann, body);
      assert.equal(refused.status, 403, `${method} ${path}`);
      assert.equal(refused.body.error, "forbidden", `${method} ${path}`);
      assert.equal((await api(method, path, undefined, body)).status, 401, `${method} ${path} unsigned`);
    }
    assert.equal(await server.store.users.findByEmail("x@example.com"), undefined, "the refused invitation created nobody");
    assert.equal((await server.store.users.findById(annId))?.role, "user");
  });

  test("invite creates the user and answers a working sign-in link; bad input is a 400 naming the field", async () => {
    const invited = await api("POST", "/users/invite", root, { email: "New@Example.com" });
    assert.equal(invited.status, 201);
    assert.equal(invited.body.user.email, "new@example.com");
    assert.equal(invited.body.created, true);
    const expires = Date.parse(invited.body.login_link.expires_at) - Date.now();
    assert.ok(expires > 71 * 3_600_000 && expires <= 72 * 3_600_000, "valid signIn.invitationHours");
    const opened = await openWithoutRedirect(invited.body.login_link.url);
    assert.equal(opened.status, 303);
    assert.match(cookieHeader(opened), /session_id=/);
    assert.equal((await api("POST", "/users/invite", root, { email: "new@example.com" })).status, 200, "inviting again is a new link");
    const bad = await api("POST", "/users/invite", root, { email: "not an address" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "invalid_params");
    assert.equal(bad.body.field, "email");
    assert.equal((await api("POST", "/users/invite", root, { email: "a@example.com", agent_id: "nope" })).body.field, "agent_id");
    assert.equal((await api("GET", "/users/usr_nobody", root)).body.error, "user_not_found");
  });

  test("disable stops every way in at once (token, cookie); enable restores it; revoke-sessions ends the sessions", async () => {
    const bob = await server.token("bob@example.com");
    const bobCookie = await signIn(server, "bob@example.com");
    const bobId = await userId("bob@example.com");
    assert.equal((await chat(bob)).status, 200);
    const disabled = await api("POST", `/users/${bobId}/disable`, root);
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.user.disabled, true);
    assert.equal((await chat(bob)).status, 401);
    const page = await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: bobCookie } });
    assert.equal(page.status, 401, "the cookie stops too");
    assert.equal((await api("POST", `/users/${bobId}/enable`, root)).body.user.disabled, false);
    assert.equal((await chat(bob)).status, 200);

    const detail = await api("GET", `/users/${bobId}`, root);
    assert.equal(detail.body.sessions.length, 2);
    const revoked = await api("POST", `/users/${bobId}/revoke-sessions`, root);
    assert.deepEqual(revoked.body, { revoked: 2 });
    assert.equal((await chat(bob)).status, 401);
    assert.equal((await api("POST", `/users/${await userId("root@example.com")}/disable`, root)).body.error, "cannot_change_self");
  });

  test("roles: an admin makes another admin and back; nobody demotes themself or a configured admin", async () => {
    const carol = await server.token("carol@example.com");
    const carolId = await userId("carol@example.com");
    assert.equal((await api("GET", "/users", carol)).status, 403);
    assert.equal((await api("PUT", `/users/${carolId}/role`, root, { role: "admin" })).body.user.role, "admin");
    assert.equal((await api("GET", "/users", carol)).status, 200, "the new role holds at once");
    assert.equal((await api("PUT", `/users/${await userId("root@example.com")}/role`, carol, { role: "user" })).body.error, "admin_in_config");
    assert.equal((await api("PUT", `/users/${carolId}/role`, carol, { role: "user" })).body.error, "cannot_change_self");
    assert.equal((await api("PUT", `/users/${carolId}/role`, root, { role: "owner" })).body.field, "role");
    assert.equal((await api("PUT", `/users/${carolId}/role`, root, { role: "user" })).body.user.role, "user");
    assert.equal((await api("GET", "/users", carol)).status, 403);
  });

  test("with the cookie, the API answers our own origin only", async () => {
    const rootCookie = await signIn(server, "root@example.com");
    const carolId = await userId("carol@example.com");
    const foreign = await api("POST", `/users/${carolId}/disable`, undefined, undefined, { cookie: rootCookie, origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error, "forbidden_origin");
    assert.equal((await server.store.users.findById(carolId))?.disabled_at, null);
    const own = await api("POST", `/users/${carolId}/disable`, undefined, undefined, { cookie: rootCookie, origin: server.url });
    assert.equal(own.status, 200);
    await api("POST", `/users/${carolId}/enable`, undefined, undefined, { cookie: rootCookie, origin: server.url });
    assert.equal((await api("GET", "/users", undefined, undefined, { cookie: rootCookie })).status, 200);
  });

  test("every admin action is one log line with the request id, and counted in /metrics", async () => {
    const events = server.logger.jsonLines.map((line) => JSON.parse(line)).filter((line) => line.msg?.startsWith("auth "));
    for (const event of ["user_invited", "user_disabled", "user_enabled", "sessions_revoked", "role_changed"]) {
      const lines = events.filter((line) => line.event === event);
      assert.ok(lines.length > 0, event);
      for (const line of lines) {
        assert.match(line.request_id, /^[\w-]+$/, event);
        assert.equal(typeof line.user, "string", event);
      }
    }
    const disables = events.filter((line) => line.event === "user_disabled");
    assert.deepEqual(disables.map((line) => [line.by, line.user]), [["root@example.com", "bob@example.com"], ["root@example.com", "carol@example.com"]]);
    assert.ok(events.some((line) => line.event === "role_changed" && line.by === "config" && line.user === "root@example.com"));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /chatkit_auth_events_total\{event="user_disabled"\} 2\n/);
    assert.match(metrics, /chatkit_auth_events_total\{event="user_invited"\} 2\n/);
  });
});
