import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { startTestServer, type TestServer } from "./support/app.ts";
import { CHROMIUM, chromiumMissing, ensureWebClientBuilt, listThreadsFromPage, openBrowser } from "./support/chromium.ts";
import { CookieJar } from "./support/cookie-jar.ts";
import { startOidcProvider, type TestOidcProvider } from "./support/oidc.ts";

const ACCOUNTS = {
  ann: { email: "ann@example.com", email_verified: true },
  bea: { email: "Bea@Example.com", email_verified: true },
  carol: { email: "carol@example.com", email_verified: true },
  dan: { email: "dan@example.com", email_verified: true },
  eve: { email: "eve@example.com", email_verified: false },
  mallory: { email: "mallory@elsewhere.test", email_verified: true },
  nomail: {},
  gina: { email: "gina@example.com", email_verified: true, groups: ["staff", "chat-users"] },
  hal: { email: "hal@example.com", email_verified: true, groups: ["staff"] },
};

describe("sign-in with an OpenID Connect provider", () => {
  let idp: TestOidcProvider & { register(uris: string[]): void };
  let server: TestServer;
  let callbackUrl: string;

  before(async () => {
    idp = await startOidcProvider(ACCOUNTS);
    await ensureWebClientBuilt();
    server = await startTestServer({
      config: {
        // The built-in client: the chat page loads nothing from elsewhere.
        pages: { ui: "builtin" },
        signIn: {
          oidc: [
            { id: "corp", name: "Corp ID", issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: ["openid", "email"], allow: ["@example.com"] },
            // The same provider, asking for group membership.
            {
              id: "staff",
              name: "Corp ID (chat users)",
              issuer: idp.issuer,
              clientId: idp.clientId,
              clientSecret: idp.clientSecret,
              scopes: ["openid", "email", "groups"],
              allow: ["*"],
              requiredClaim: { claim: "groups", value: "chat-users" },
            },
          ],
        },
      },
    });
    callbackUrl = `${server.url}/auth/oidc/corp/callback`;
    idp.register([callbackUrl, `${server.url}/auth/oidc/staff/callback`]);
  });
  after(async () => {
    await server.close({ removeData: true });
    await idp.close();
  });

  /** What sign-in can create: users, their identities and sessions. */
  async function created(): Promise<{ users: number; identities: number; sessions: number }> {
    const count = async (table: string) => Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(server.db)).rows[0]!.n);
    return { users: await count("users"), identities: await count("identities"), sessions: await count("sessions") };
  }

  /**
   * Presses the provider's button and logs in at the provider as `account`, following redirects
   * as a browser would; returns the callback URL the provider sends the browser back to (not opened).
   */
  async function authorize(jar: CookieJar, account: string, providerId = "corp"): Promise<string> {
    const callbackUrl = `${server.url}/auth/oidc/${providerId}/callback`;
    const start = await jar.fetch(`${server.url}/auth/oidc/${providerId}/start`);
    assert.equal(start.status, 303);
    let location = start.headers.get("location")!;
    assert.ok(location.startsWith(`${idp.issuer}/`), `the button leads to the provider: ${location}`);
    const authorization = new URL(location);
    assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorization.searchParams.get("nonce") && authorization.searchParams.get("state"));
    assert.equal(authorization.searchParams.get("redirect_uri"), callbackUrl);
    for (let hop = 0; hop < 10; hop++) {
      if (location.startsWith(callbackUrl)) return location;
      const url = new URL(location, idp.issuer).href;
      const response = /\/interaction\//.test(url) ? await jar.fetch(url, { form: { login: account } }) : await jar.fetch(url);
      assert.ok(response.status >= 300 && response.status < 400, `the provider redirects (${response.status} at ${url}): ${await response.text()}`);
      location = response.headers.get("location")!;
    }
    assert.fail("the provider never sent the browser back");
  }

  /** The one auth event line of a refused sign-in names the reason and the response's request id. */
  function assertRefusalLogged(response: Response, reason: string): void {
    const requestId = response.headers.get("x-request-id");
    const lines = server.logger.jsonLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.request_id === requestId && l.event === "sign_in_failed");
    assert.equal(lines.length, 1, `one sign_in_failed line for request ${requestId}`);
    assert.equal(lines[0]!.via, "oidc");
    assert.equal(lines[0]!.reason, reason);
  }

  async function assertGenericRefusal(response: Response, status: number): Promise<void> {
    assert.equal(response.status, status);
    assert.match(response.headers.get("content-security-policy")!, /default-src 'none'/);
    assert.equal(response.headers.getSetCookie().some((line) => line.startsWith("session_id=") && !/expires=Thu, 01 Jan 1970/i.test(line)), false, "no session cookie");
    const html = await response.text();
    assert.match(html, /Sign-in failed/);
    assert.ok(html.includes(response.headers.get("x-request-id")!), "the page quotes the request id");
  }

  test("the full code flow signs in, links the identity by issuer and subject, and /chatkit answers with the cookie", async () => {
    const before = await created();
    const jar = new CookieJar();
    const callback = await authorize(jar, "ann");
    const response = await jar.fetch(callback);
    assert.equal(response.status, 303, await response.text());
    assert.equal(response.headers.get("location"), "/agents/assistant/chatkit");
    assert.ok(jar.get("session_id"), "signed in");
    assert.equal(jar.get("oidc_flow"), undefined, "the flow cookie is gone");
    const user = (await server.store.users.findByEmail("ann@example.com"))!;
    assert.ok(user);
    const identities = await server.store.identities.listFor(user.id);
    assert.deepEqual(
      identities.map((identity) => [identity.provider, identity.subject]),
      [[`oidc:${idp.issuer}`, "ann"]],
    );
    assert.deepEqual(await created(), { users: before.users + 1, identities: before.identities + 1, sessions: before.sessions + 1 });

    const list = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: jar.header(), origin: server.url },
      body: JSON.stringify({ type: "threads.list", params: {} }),
    });
    assert.equal(list.status, 200);
    assert.deepEqual(await list.json(), { data: [], has_more: false });
    assert.ok(server.logger.infoLines.some((line) => line.startsWith("auth sign_in ") && line.includes("via=oidc") && line.includes("user=ann@example.com")));

    // Signing in again (a new browser) finds the same user.
    const again = new CookieJar();
    assert.equal((await again.fetch(await authorize(again, "ann"))).status, 303);
    assert.equal((await created()).users, before.users + 1);
  });

  test("a user the operator created is linked by the verified address; the provider's capitalisation does not matter", async () => {
    const { user } = await server.store.users.findOrCreate("bea@example.com");
    const jar = new CookieJar();
    assert.equal((await jar.fetch(await authorize(jar, "bea"))).status, 303);
    assert.deepEqual((await server.store.identities.listFor(user.id)).map((identity) => identity.subject), ["bea"]);
  });

  test("a state that is not this browser's is refused, with nothing created", async () => {
    const jar = new CookieJar();
    const callback = new URL(await authorize(jar, "carol"));
    callback.searchParams.set("state", "not-the-state-this-browser-started-with");
    const before = await created();
    const response = await jar.fetch(callback.href);
    await assertGenericRefusal(response, 400);
    assertRefusalLogged(response, "state_mismatch");
    assert.deepEqual(await created(), before);
    assert.equal(await server.store.users.findByEmail("carol@example.com"), undefined);
  });

  test("a callback nobody started in this browser is refused", async () => {
    const elsewhere = new CookieJar();
    const callback = await authorize(elsewhere, "carol");
    const before = await created();
    for (const url of [callback, `${callbackUrl}?code=made-up&state=made-up`]) {
      const response = await new CookieJar().fetch(url);
      await assertGenericRefusal(response, 400);
      assertRefusalLogged(response, "no_flow");
    }
    assert.deepEqual(await created(), before);
  });

  test("a replayed code is refused by the provider and signs nobody in", async () => {
    const jar = new CookieJar();
    const callback = await authorize(jar, "dan");
    const attacker = jar.copy();
    assert.equal((await jar.fetch(callback)).status, 303);
    const before = await created();
    const replay = await attacker.fetch(callback);
    await assertGenericRefusal(replay, 400);
    assertRefusalLogged(replay, "token_refused");
    assert.deepEqual(await created(), before);
  });

  test("an ID token not signed by the provider's keys is refused", async () => {
    const jar = new CookieJar();
    const callback = await authorize(jar, "carol");
    idp.forgeNextIdToken();
    const before = await created();
    const response = await jar.fetch(callback);
    await assertGenericRefusal(response, 400);
    assertRefusalLogged(response, "id_token_invalid");
    assert.deepEqual(await created(), before);
  });

  test("an unverified email, an email outside the allow-list and no email at all are refused", async () => {
    for (const [account, status, reason] of [
      ["eve", 400, "email_not_verified"],
      ["mallory", 403, "not_allowed"],
      ["nomail", 400, "email_missing"],
    ] as const) {
      const jar = new CookieJar();
      const callback = await authorize(jar, account);
      const before = await created();
      const response = await jar.fetch(callback);
      await assertGenericRefusal(response, status);
      assertRefusalLogged(response, reason);
      assert.deepEqual(await created(), before, `${account}: nothing created`);
    }
  });

  test("a provider's required claim: a member of the group signs in, anyone else is refused", async () => {
    const member = new CookieJar();
    assert.equal((await member.fetch(await authorize(member, "gina", "staff"))).status, 303);
    assert.ok(await server.store.users.findByEmail("gina@example.com"));
    const other = new CookieJar();
    const callback = await authorize(other, "hal", "staff");
    const before = await created();
    const response = await other.fetch(callback);
    await assertGenericRefusal(response, 400);
    assertRefusalLogged(response, "claim_missing");
    assert.deepEqual(await created(), before);
  });

  test("a disabled user is refused by the provider's way in too", async () => {
    await server.store.users.findOrCreate("dan@example.com");
    await server.store.users.setDisabled({ email: "dan@example.com" }, true);
    try {
      const jar = new CookieJar();
      const response = await jar.fetch(await authorize(jar, "dan"));
      await assertGenericRefusal(response, 403);
      assertRefusalLogged(response, "disabled");
    } finally {
      await server.store.users.setDisabled({ email: "dan@example.com" }, false);
    }
  });

  test("the signed-out page has the provider's button; sign-out ends the session and offers the provider's sign-out", async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    assert.match(page, /<a class="button" href="\/auth\/oidc\/corp\/start">Sign in with Corp ID<\/a>/);
    assert.match(page, /Sign-in is by invitation/, "no SMTP configured");

    const jar = new CookieJar();
    assert.equal((await jar.fetch(await authorize(jar, "carol"))).status, 303);
    const signedOut = await jar.fetch(`${server.url}/logout`, { method: "POST", headers: { origin: server.url } });
    assert.equal(signedOut.status, 200);
    const html = await signedOut.text();
    assert.match(html, new RegExp(`href="${idp.issuer}/session/end\\?client_id=chatkit-box"`));
    assert.equal(jar.get("session_id"), undefined);
    const chatPage = await jar.fetch(`${server.url}/agents/assistant/chatkit`);
    assert.equal(chatPage.status, 401);
  });

  test("the provider's discovery document is fetched once per configured provider for all these sign-ins, not per request", () => {
    const discoveries = idp.requests.filter((path) => path === "/.well-known/openid-configuration");
    assert.equal(discoveries.length, 2, "corp and staff, one each");
    assert.ok(idp.requests.filter((path) => path === "/token").length >= 8, "many sign-ins went through it");
  });

  test("in Chromium: the button, the provider's login, and the chat answers with the resulting cookie", async (t) => {
    if (chromiumMissing()) {
      t.skip(`${CHROMIUM} is not installed (Debian: apt-get install chromium); the browser check did not run`);
      return;
    }
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await page.goto(`${server.url}/`);
      await page.getByRole("link", { name: "Sign in with Corp ID", exact: true }).click();
      await page.getByLabel("Account").fill("carol");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${server.url}/agents/assistant/chatkit`);
      assert.deepEqual(await listThreadsFromPage(page), { status: 200, body: { data: [], has_more: false } });
      assert.deepEqual(browser.foreignRequests(server.url, idp.issuer), []);
    } finally {
      await browser.close();
    }
  });
});
