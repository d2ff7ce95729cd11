import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { confirmLoginLink, cookieHeader, loginLinkFor, openWithoutRedirect, signIn } from "./support/browser.ts";

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

  test("a link opened from our own pages signs in directly too", async () => {
    const response = await openWithoutRedirect(await loginLinkFor(server, "inside@example.com"), { "sec-fetch-site": "same-origin" });
    assert.equal(response.status, 303);
    assert.ok(response.headers.getSetCookie().some((line) => line.startsWith("session_id=")));
  });

  test("HEAD never uses up a link", async () => {
    const url = await loginLinkFor(server, "scanner@example.com");
    for (const headers of [{}, { "sec-fetch-site": "cross-site" }]) {
      const head = await fetch(url, { method: "HEAD", redirect: "manual", headers: { "sec-fetch-site": "none", ...headers } });
      assert.equal(head.status, 200);
      assert.equal(head.headers.getSetCookie().length, 0, "no session for a HEAD");
    }
    assert.equal((await openWithoutRedirect(url)).status, 303, "the link still signs in afterwards");
  });

  for (const [why, headers] of [
    ["from another site (login CSRF)", { "sec-fetch-site": "cross-site" }],
    ["from a sibling site", { "sec-fetch-site": "same-site" }],
    ["by a client that sends no Fetch Metadata (link scanners, curl)", { "sec-fetch-site": "" }],
  ] as const) {
    test(`a link opened ${why} asks for confirmation and leaves the link unused`, async () => {
      const url = await loginLinkFor(server, "victim-or-bot@example.com");
      const page = await openWithoutRedirect(url, headers);
      assert.equal(page.status, 200);
      assert.equal(page.headers.getSetCookie().length, 0, "nothing signed in yet");
      assert.match(page.headers.get("content-type")!, /text\/html/);
      assert.equal(page.headers.get("cache-control"), "no-store");
      assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
      assert.match(page.headers.get("content-security-policy")!, /form-action 'self'/);
      assert.equal(page.headers.get("referrer-policy"), "same-origin", "so the form's POST carries our Origin");
      const html = await page.text();
      assert.match(html, /victim-or-bot@example\.com/, "names the account the link signs into");
      const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
      assert.equal(action, new URL(url).pathname, "the button posts back to the link");
      assert.equal((await openWithoutRedirect(url, headers)).status, 200, "asking again does not use the link up");
    });
  }

  test("confirming from our origin signs in like opening the link directly; from elsewhere it is refused", async () => {
    const url = await loginLinkFor(server, "confirmed@example.com", "writer");
    for (const origin of ["https://evil.example", "null", undefined]) {
      const refused = await confirmLoginLink(url, origin);
      assert.equal(refused.status, 403, `origin ${origin}`);
      assert.equal(refused.headers.getSetCookie().length, 0);
    }
    const response = await confirmLoginLink(url, server.url);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/agents/writer/chatkit");
    const session = response.headers.getSetCookie().find((line) => line.startsWith("session_id="));
    assert.match(session!, /; httponly/i);
    assert.match(session!, /; samesite=lax/i);
    const page = await fetch(`${server.url}/agents/writer/chatkit`, { headers: { cookie: cookieHeader(response) } });
    assert.match(await page.text(), /confirmed@example\.com/);
    assert.equal((await confirmLoginLink(url, server.url)).status, 410, "still one time only");
    assert.equal((await openWithoutRedirect(url, { "sec-fetch-site": "cross-site" })).status, 410, "a used link is not offered again");
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
    await server.store.users.setDisabled({ email: "gone@example.com" }, true);
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
