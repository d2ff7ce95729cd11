import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { cookieHeader, loginLinkFor, openWithoutRedirect, signIn } from "./support/browser.ts";

const SECOND_AGENT = { id: "writer", name: "Writer", model: "test-model" };

async function listThreads(server: TestServer, headers: Record<string, string>) {
  const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ type: "threads.list", params: {} }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe("browser sign-in with a login link", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      config: { agents: [{ id: "assistant", name: "Assistant", model: "test-model" }, SECOND_AGENT], signIn: { sessionDays: 7 } },
    });
  });
  after(() => server.close({ removeData: true }));

  test("opening a link sets a signed HttpOnly SameSite=Lax session cookie and redirects to the chat page", async () => {
    const response = await openWithoutRedirect(await loginLinkFor(server, "link@example.com"));
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/agents/assistant/chatkit");
    assert.equal(response.headers.get("referrer-policy"), "no-referrer");
    const lines = response.headers.getSetCookie();
    const session = lines.find((line) => line.startsWith("session_id="));
    const signature = lines.find((line) => line.startsWith("session_id.sig="));
    assert.ok(session && signature, `both the cookie and its signature are set: ${lines.join(" | ")}`);
    for (const line of [session, signature]) {
      assert.match(line, /; httponly/i);
      assert.match(line, /; samesite=lax/i);
      assert.match(line, /; path=\//i);
      assert.doesNotMatch(line, /; secure/i, "no Secure flag over plain http");
      const expires = Date.parse(/; expires=([^;]+)/i.exec(line)![1]!);
      assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 60_000, "lasts signIn.sessionDays");
    }
    const page = await fetch(`${server.url}/agents/assistant/chatkit`, { headers: { cookie: cookieHeader(response) } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /link@example\.com/);
  });

  test("a link works once; a second opening gets a 410 page", async () => {
    const url = await loginLinkFor(server, "once@example.com");
    assert.equal((await openWithoutRedirect(url)).status, 303);
    const again = await openWithoutRedirect(url);
    assert.equal(again.status, 410);
    assert.match(again.headers.get("content-type")!, /text\/html/);
    assert.equal(again.headers.getSetCookie().length, 0);
    assert.match(await again.text(), /already used/);
  });

  test("an expired link gets a 410 page and an unknown one a 400 page; neither signs in", async () => {
    const url = await loginLinkFor(server, "late@example.com", null, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const expired = await openWithoutRedirect(url);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);
    const unknown = await openWithoutRedirect(`${server.url}/login/not-a-real-token`);
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /not valid/);
    assert.equal(unknown.headers.getSetCookie().length, 0);
  });

  test("a link for a disabled user is refused", async () => {
    const url = await loginLinkFor(server, "gone@example.com");
    await server.store.users.setDisabled("gone@example.com", true);
    const response = await openWithoutRedirect(url);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /disabled/);
  });

  test("a link made for an agent lands on that agent's page", async () => {
    const response = await openWithoutRedirect(await loginLinkFor(server, "writer@example.com", "writer"));
    assert.equal(response.headers.get("location"), "/agents/writer/chatkit");
  });

  test("the cookie authenticates the entry route from our origin and is refused from another", async () => {
    const cookie = await signIn(server, "entry@example.com");
    const same = await listThreads(server, { cookie, origin: server.url });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body, { data: [], has_more: false });
    const foreign = await listThreads(server, { cookie, origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error, "forbidden_origin");
  });

  test("sign-out from our origin revokes the session and clears the cookie; from another site it is refused", async () => {
    const cookie = await signIn(server, "bye@example.com");
    const forged = await fetch(`${server.url}/logout`, { method: "POST", headers: { cookie, origin: "https://evil.example" } });
    assert.equal(forged.status, 403);
    assert.equal((await listThreads(server, { cookie })).status, 200, "a refused sign-out leaves the session alone");

    const response = await fetch(`${server.url}/logout`, { method: "POST", headers: { cookie, origin: server.url } });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /signed out/);
    const cleared = response.headers.getSetCookie().find((line) => line.startsWith("session_id="));
    assert.match(cleared!, /expires=Thu, 01 Jan 1970/i);
    assert.equal((await listThreads(server, { cookie })).status, 401, "the old cookie no longer works");
  });
});

test("behind https (server.publicUrl) the session cookie is Secure", async () => {
  const server = await startTestServer({ config: { server: { publicUrl: "https://chat.example.com" } } });
  try {
    const response = await openWithoutRedirect(await loginLinkFor(server, "tls@example.com"));
    assert.equal(response.status, 303);
    for (const line of response.headers.getSetCookie()) assert.match(line, /; secure/i);
  } finally {
    await server.close({ removeData: true });
  }
});
