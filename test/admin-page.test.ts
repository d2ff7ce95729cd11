import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { loginLinkFor } from "./support/browser.ts";
import { chromiumMissing, ensureWebClientBuilt, openBrowser, type Browser } from "./support/chromium.ts";
import { userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";

const missing = chromiumMissing();

describe("the admin page in Chromium", { skip: missing }, () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    await ensureWebClientBuilt();
    fake = await startFakeOpenAI({ text: "Answer.", usage: { input: 40, output: 10, reasoning: 0, cached: 0 } });
    server = await startTestServer({ config: { admins: ["root@example.com"], pages: { ui: "builtin" }, openai: { apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 } } });
    for (const email of ["ann@example.com", "bob@example.com"]) {
      const token = await server.token(email);
      await server.stream("threads.create", { input: userInput(`Hello from ${email}`) }, { token });
    }
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close({ removeData: true });
    await fake?.close();
  });

  test("an admin sees people, a usage chart and the box's health, and invites, disables, sets a quota and deletes", async () => {
    const { page } = browser;
    page.on("dialog", (dialog) => void dialog.accept());
    await page.goto(await loginLinkFor(server, "root@example.com"));
    await page.goto(`${server.url}/admin`);
    const ann = page.locator('tr[data-email="ann@example.com"]');
    await ann.waitFor();
    assert.match(await ann.innerText(), /50 \(1 turns\)/);
    // The usage chart: uPlot draws a canvas with one series per user.
    await page.locator(".chart canvas").first().waitFor();
    assert.ok(await page.locator(".u-legend .u-series", { hasText: "ann@example.com" }).count() >= 1);
    await page.locator(".health li", { hasText: "answers" }).first().waitFor();

    await page.getByLabel("Email to invite").fill("new@example.com");
    await page.getByRole("button", { name: "Invite" }).click();
    await page.getByRole("status").filter({ hasText: "Invitation link for new@example.com" }).waitFor();
    assert.ok(await server.store.users.findByEmail("new@example.com"));

    await ann.getByRole("button", { name: "Disable" }).click();
    await page.locator('tr[data-email="ann@example.com"] td', { hasText: "disabled" }).waitFor();
    assert.notEqual((await server.store.users.findByEmail("ann@example.com"))!.disabled_at, null);

    const bob = page.locator('tr[data-email="bob@example.com"]');
    await bob.getByLabel("Tokens per day for bob@example.com").fill("50");
    await bob.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Quota of bob@example.com saved" }).waitFor();
    const refused = await server.stream("threads.create", { input: userInput("Over?") }, { token: await server.token("bob@example.com") });
    assert.match(refused.events[0]!.message, /You have used your 50 tokens for this day/);

    await bob.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("status").filter({ hasText: "Deleted bob@example.com" }).waitFor();
    assert.equal(await server.store.users.findByEmail("bob@example.com"), undefined);
    // The status line and the refreshed list arrive in separate renders.
    await page.locator('tr[data-email="bob@example.com"]').waitFor({ state: "detached", timeout: 5_000 });

    assert.deepEqual(browser.foreignRequests(server.url), [], "no request leaves the origin");
    assert.deepEqual(browser.pageErrors, []);
  });

  test("an ordinary user gets no admin page and 403 from the admin API", async () => {
    const { page } = browser;
    await page.goto(await loginLinkFor(server, "new@example.com"));
    const response = await page.goto(`${server.url}/admin`);
    assert.equal(response?.status(), 403);
    assert.equal(await page.locator("#admin-app").count(), 0);
    // With the browser's own cookie (the 403 page's policy lets no script fetch anything).
    const api = await browser.context.request.get(`${server.url}/admin/api/people`);
    assert.equal(api.status(), 403);
  });

  test("a user downloads their own data from the account menu of the chat page", async () => {
    const { page } = browser;
    await page.goto(await loginLinkFor(server, "new@example.com"));
    await page.goto(`${server.url}/agents/assistant/chatkit`);
    await page.locator("summary.ck-icon-button").click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export my data" }).click()]);
    const archive = await download.path();
    assert.ok(archive);
    const { gunzipSync } = await import("node:zlib");
    const { readFileSync } = await import("node:fs");
    const tar = gunzipSync(readFileSync(archive)).toString("latin1");
    assert.match(tar, /user\.json/);
    assert.match(tar, /new@example\.com/);
  });
});
