import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createMailer } from "../src/auth/mailer.ts";
import { parseConfig } from "../src/config/load.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { openWithoutRedirect } from "./support/browser.ts";
import { CHROMIUM, chromiumMissing, ensureWebClientBuilt, listThreadsFromPage, openBrowser } from "./support/chromium.ts";
import { startSmtpServer, type CapturedMail, type TestSmtpServer } from "./support/smtp.ts";

const PUBLIC_URL = "http://chat.box.test";
const FROM = "Chat <chat@box.test>";

/** Waits (without a time limit of its own: the test runner's applies) until `ready` holds. */
async function until<T>(ready: () => T | undefined): Promise<T> {
  for (;;) {
    const value = ready();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function askForLink(server: TestServer, email: string, options: { json?: boolean; origin?: string; agent?: string } = {}): Promise<Response> {
  const { json = false, origin = server.url } = options;
  return fetch(`${server.url}/auth/email${options.agent ? `?agent=${options.agent}` : ""}`, {
    method: "POST",
    redirect: "manual",
    headers: {
      origin,
      "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
      accept: json ? "application/json" : "text/html",
    },
    body: json ? JSON.stringify({ email }) : new URLSearchParams({ email }).toString(),
  });
}

/** The auth event logged for a request, as `event reason` (sending happens after the answer, so it may come later). */
function signInLine(server: TestServer, response: Response): Promise<string> {
  const requestId = response.headers.get("x-request-id");
  return until(() => {
    const line = server.logger.jsonLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.request_id === requestId && typeof l.event === "string" && l.via === "email-link");
    return line && `${String(line.event)}${line.reason ? ` ${String(line.reason)}` : ""}`;
  });
}

/** The answer's page with the address it echoes taken out: what must not differ between addresses. */
async function answerWithoutAddress(response: Response, email: string): Promise<{ status: number; body: string }> {
  return { status: response.status, body: (await response.text()).replaceAll(email, "<address>") };
}

function linkIn(mail: CapturedMail): string {
  const match = /(http:\/\/\S+\/login\/[\w-]+)/.exec(mail.text);
  assert.ok(match, `a link in the mail: ${mail.text}`);
  return match[1]!;
}

describe("sign-in links by mail", () => {
  let smtp: TestSmtpServer;
  let server: TestServer;

  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({
      config: {
        server: { publicUrl: PUBLIC_URL },
        agents: [TEST_AGENT, { id: "writer", name: "Writer", model: "test-model" }],
        signIn: {
          email: { smtpUrl: smtp.url, from: FROM, allow: ["ann@example.com", "@team.example"], requestsPerClientPerHour: 100, mailsPerAddressPerHour: 2 },
        },
      },
    });
  });
  after(async () => {
    await server.close({ removeData: true });
    await smtp.close();
  });

  const mailsTo = (address: string) => smtp.mails.filter((mail) => mail.to.includes(address));

  test("the signed-out page asks for an email address, labelled, posting to our own origin", async () => {
    const response = await fetch(`${server.url}/`);
    const html = await response.text();
    assert.match(html, /<form class="email" method="post" action="\/auth\/email">/);
    assert.match(html, /<label for="sign-in-email">Email address<\/label>/);
    assert.match(html, /<input id="sign-in-email" name="email" type="email" autocomplete="email" required/);
    assert.doesNotMatch(html, /by invitation/);
    assert.match(response.headers.get("content-security-policy")!, /default-src 'none'.*form-action 'self'/);
  });

  test("an allowed address gets one mail with a single-use link on the public URL that signs in", async () => {
    const response = await askForLink(server, "Ann@Example.com");
    assert.equal(response.status, 200);
    assert.match(await response.text(), /Check your mail/);
    const mail = await until(() => mailsTo("ann@example.com")[0]);
    assert.equal(mail.headers.get("from"), FROM);
    assert.match(mail.headers.get("subject")!, /sign-in link/);
    assert.match(await signInLine(server, response), /^sign_in_link_sent$/);
    const link = linkIn(mail);
    assert.ok(link.startsWith(`${PUBLIC_URL}/login/`), "the link is on server.publicUrl, never the request's Host");
    const local = link.replace(PUBLIC_URL, server.url);
    const opened = await openWithoutRedirect(local);
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get("location"), "/agents/assistant/chatkit");
    assert.ok(opened.headers.getSetCookie().some((line) => line.startsWith("session_id=")));
    assert.equal((await openWithoutRedirect(local)).status, 410, "the link works once");
    const user = (await server.store.users.findByEmail("ann@example.com"))!;
    assert.deepEqual((await server.store.identities.listFor(user.id)).map((identity) => [identity.provider, identity.subject]), [["email-link", "ann@example.com"]]);
    assert.equal(mailsTo("ann@example.com").length, 1, "one mail per request");
  });

  test("a whole allowed domain, and a link that opens the agent the person started from", async () => {
    const response = await askForLink(server, "zed@team.example", { agent: "writer" });
    assert.equal(response.status, 200);
    const opened = await openWithoutRedirect(linkIn(await until(() => mailsTo("zed@team.example")[0])).replace(PUBLIC_URL, server.url));
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get("location"), "/agents/writer/chatkit");
  });

  test("a disallowed address gets the same answer and no mail, and no account", async () => {
    const allowed = await answerWithoutAddress(await askForLink(server, "yan@team.example"), "yan@team.example");
    const response = await askForLink(server, "stranger@elsewhere.test");
    assert.deepEqual(await answerWithoutAddress(response, "stranger@elsewhere.test"), allowed);
    assert.match(await signInLine(server, response), /^sign_in_failed not_allowed$/);
    await until(() => mailsTo("yan@team.example")[0]);
    assert.deepEqual(mailsTo("stranger@elsewhere.test"), []);
    assert.equal(await server.store.users.findByEmail("stranger@elsewhere.test"), undefined);
  });

  test("a user the operator created may ask without being on the list; a disabled one gets the same answer and no mail", async () => {
    await server.store.users.findOrCreate("invited@elsewhere.test");
    assert.equal((await askForLink(server, "invited@elsewhere.test")).status, 200);
    await until(() => mailsTo("invited@elsewhere.test")[0]);

    await server.store.users.findOrCreate("gone@team.example");
    await server.store.users.setDisabled({ email: "gone@team.example" }, true);
    const response = await askForLink(server, "gone@team.example");
    assert.equal(response.status, 200);
    assert.match(await signInLine(server, response), /^sign_in_failed not_allowed$/);
    assert.deepEqual(mailsTo("gone@team.example"), []);
  });

  test("an address carrying a header (CR/LF), a second address or a name is refused with 400 invalid_email and sends nothing", async () => {
    const before = smtp.mails.length;
    for (const email of ["ann@example.com\r\nBcc: victim@elsewhere.test", "ann@example.com\nSubject: hi", "ann@example.com, victim@elsewhere.test", "Ann <ann@example.com>", ""]) {
      const page = await askForLink(server, email);
      assert.equal(page.status, 400, JSON.stringify(email));
      assert.match(await page.text(), /not an email address/);
      const json = await askForLink(server, email, { json: true });
      assert.equal(json.status, 400);
      assert.equal(((await json.json()) as { error: string }).error, "invalid_email");
      assert.match(await signInLine(server, json), /^sign_in_failed invalid_email$/);
    }
    await askForLink(server, "after-injection@team.example");
    await until(() => mailsTo("after-injection@team.example")[0]);
    assert.equal(smtp.mails.length, before + 1, "only the well-formed request sent a mail");
    assert.ok(smtp.mails.every((mail) => !mail.to.includes("victim@elsewhere.test")));
  });

  test("one address gets at most mailsPerAddressPerHour mails, whoever asks; the answer stays the same", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await askForLink(server, "often@team.example", { json: true }));
    assert.deepEqual(answers.map((answer) => answer.status), [202, 202, 202, 202]);
    assert.match(await signInLine(server, answers[3]!), /^sign_in_failed address_throttled$/);
    await until(() => mailsTo("often@team.example").length === 2);
    assert.match(await signInLine(server, answers[1]!), /^sign_in_link_sent$/);
    assert.equal(mailsTo("often@team.example").length, 2);
  });

  test("an admin's invitation is mailed to the invitee with a working link, which the answer does not show", async () => {
    await server.store.users.findOrCreate("boss@example.com");
    await server.store.users.setRole({ email: "boss@example.com" }, "admin");
    const response = await fetch(`${server.url}/admin/api/users/invite`, {
      method: "POST",
      headers: { authorization: `Bearer ${await server.token("boss@example.com")}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "guest@elsewhere.test" }),
    });
    assert.equal(response.status, 201);
    const body = (await response.json()) as { mailed: boolean; login_link: Record<string, unknown> };
    assert.equal(body.mailed, true);
    assert.deepEqual(Object.keys(body.login_link), ["expires_at"], "the link reaches the invitee only");
    const mail = await until(() => mailsTo("guest@elsewhere.test")[0]);
    assert.match(mail.headers.get("subject")!, /invited/);
    assert.match(mail.text, /boss@example\.com invited you/);
    const opened = await openWithoutRedirect(linkIn(mail).replace(PUBLIC_URL, server.url));
    assert.equal(opened.status, 303);
  });

  test("a form posted from another site is refused", async () => {
    const response = await askForLink(server, "ann@example.com", { origin: "https://evil.example", json: true });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: string }).error, "forbidden_origin");
  });
});

test("one client address may ask for requestsPerClientPerHour links, then gets 429 too_many_sign_in_requests with Retry-After", async () => {
  const smtp = await startSmtpServer();
  const server = await startTestServer({ config: { signIn: { email: { smtpUrl: smtp.url, from: FROM, allow: ["@team.example"], requestsPerClientPerHour: 3 } } } });
  try {
    for (const who of ["a", "b", "c"]) assert.equal((await askForLink(server, `${who}@team.example`)).status, 200);
    const page = await askForLink(server, "d@team.example");
    assert.equal(page.status, 429);
    assert.ok(Number(page.headers.get("retry-after")) > 0);
    assert.match(await page.text(), /Too many sign-in links/);
    const json = await askForLink(server, "d@team.example", { json: true });
    assert.equal(json.status, 429);
    const body = (await json.json()) as { error: string; retry_after: number };
    assert.equal(body.error, "too_many_sign_in_requests");
    assert.ok(body.retry_after > 0);
    assert.match(await signInLine(server, json), /^sign_in_failed client_throttled$/);
    await until(() => smtp.mails.length === 3);
    assert.ok(smtp.mails.every((mail) => !mail.to.includes("d@team.example")));
  } finally {
    await server.close({ removeData: true });
    await smtp.close();
  }
});

test("without SMTP the signed-out page says sign-in is by invitation, and the form's route is not there", async () => {
  const server = await startTestServer();
  try {
    const html = await (await fetch(`${server.url}/`)).text();
    assert.match(html, /Sign-in is by invitation/);
    assert.doesNotMatch(html, /<form class="email"/);
    assert.match(html, /npm run --silent login-link -- you@example\.com/);
    assert.equal((await askForLink(server, "ann@example.com")).status, 404);
  } finally {
    await server.close({ removeData: true });
  }
});

test("an invitation mail names who invited and carries the link", async () => {
  const smtp = await startSmtpServer();
  const mailer = createMailer(parseConfig({ agents: [TEST_AGENT], signIn: { email: { smtpUrl: smtp.url, from: FROM } } }))!;
  try {
    await mailer.sendSignInMail({ to: "new@example.com", url: `${PUBLIC_URL}/login/abc`, minutes: 15, kind: "invitation", invitedBy: "admin@example.com" });
    const [mail] = smtp.mails;
    assert.deepEqual(mail!.to, ["new@example.com"]);
    assert.match(mail!.headers.get("subject")!, /invited/);
    assert.match(mail!.text, /admin@example\.com invited you/);
    assert.match(mail!.text, /http:\/\/chat\.box\.test\/login\/abc/);
    await assert.rejects(mailer.sendSignInMail({ to: "a@b.c\r\nBcc: x@y.z", url: "u", minutes: 1, kind: "link" }), /not one plain address/);
    assert.equal(smtp.mails.length, 1);
  } finally {
    mailer.close();
    await smtp.close();
  }
});

test("in Chromium: the form, the mailed link, and the chat answers with the resulting cookie", async (t) => {
  if (chromiumMissing()) {
    t.skip(`${CHROMIUM} is not installed (Debian: apt-get install chromium); the browser check did not run`);
    return;
  }
  await ensureWebClientBuilt();
  const smtp = await startSmtpServer();
  const server = await startTestServer({ config: { pages: { ui: "builtin" }, signIn: { email: { smtpUrl: smtp.url, from: FROM, allow: ["@team.example"] } } } });
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.url}/`);
    await page.getByLabel("Email address").fill("pat@team.example");
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await page.getByRole("heading", { name: "Check your mail" }).waitFor();
    // The test server listens on its own port; the mailed link names the configured listen address.
    const link = linkIn(await until(() => smtp.mails[0])).replace(/^http:\/\/[^/]+/, server.url);
    await page.goto(link);
    await page.waitForURL(`${server.url}/agents/assistant/chatkit`);
    assert.deepEqual(await listThreadsFromPage(page), { status: 200, body: { data: [], has_more: false } });
    assert.deepEqual(browser.foreignRequests(server.url), []);
  } finally {
    await browser.close();
    await server.close({ removeData: true });
    await smtp.close();
  }
});
