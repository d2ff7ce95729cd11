import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { cookieHeader, loginLinkFor, openWithoutRedirect, signIn } from "./support/browser.ts";

/** A user's own sessions: listed with the one in use marked, the others signed out at once. */

describe("account API: one's own sessions", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  const account = async (method: string, path: string, headers: Record<string, string>) => {
    const response = await fetch(`${server.url}/account/api${path}`, { method, headers });
    return { status: response.status, body: (await response.json()) as any };
  };

  test("a browser lists its user's live sessions, marks its own, and signs out the others; other users are untouched", async () => {
    const laptop = await signIn(server, "dee@example.com");
    const phone = await signIn(server, "dee@example.com");
    const token = await server.token("dee@example.com");
    const someoneElse = await server.token("eve@example.com");
    const listed = await account("GET", "/sessions", { cookie: laptop });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.sessions.length, 3);
    assert.equal(listed.body.sessions.filter((session: { current: boolean }) => session.current).length, 1);
    assert.equal(typeof listed.body.sessions[0].created_at, "string");

    assert.equal((await account("POST", "/sessions/revoke-others", { cookie: laptop, origin: "https://evil.example" })).status, 403);
    const revoked = await account("POST", "/sessions/revoke-others", { cookie: laptop, origin: server.url });
    assert.deepEqual(revoked.body, { revoked: 2 });
    assert.equal((await account("GET", "/sessions", { cookie: phone })).status, 401);
    assert.equal((await server.request("threads.list", {}, { token })).status, 401);
    assert.equal((await server.request("threads.list", {}, { token: someoneElse })).status, 200);
    const after = await account("GET", "/sessions", { cookie: laptop });
    assert.deepEqual(after.body.sessions.map((session: { current: boolean }) => session.current), [true]);
    const me = await account("GET", "/me", { cookie: laptop });
    assert.equal(me.body.user.email, "dee@example.com");
    assert.equal(me.body.user.role, "user");
    assert.equal((await account("GET", "/me", {})).status, 401);
  });

  test("signing in again replaces the browser's session: a new cookie, the old session ended", async () => {
    const first = await signIn(server, "fay@example.com");
    const second = await openWithoutRedirect(await loginLinkFor(server, "fay@example.com"), { cookie: first });
    assert.equal(second.status, 303);
    const renewed = cookieHeader(second);
    assert.notEqual(renewed, first);
    assert.equal((await account("GET", "/sessions", { cookie: first })).status, 401);
    assert.equal((await account("GET", "/sessions", { cookie: renewed })).body.sessions.length, 1);
  });
});
