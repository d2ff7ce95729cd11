import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { browserTools, defineAction, defineTool, z } from "../src/index.ts";
import type { WidgetItem } from "../src/protocol/items.ts";
import { buildWebClient, INITIAL_JS_BUDGET_BYTES, initialJsBytes } from "../src/webclient/build.ts";
import { itemPage, startTestServer, TEST_AGENT, threadPage, type TestServer } from "./support/app.ts";
import { toolExchanges } from "./support/agents.ts";
import { loginLinkFor } from "./support/browser.ts";
import { chromiumMissing, ensureWebClientBuilt, openBrowser, seriousAccessibilityViolations, until, type Browser } from "./support/chromium.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { ownerOf, userMessage } from "./support/fixtures.ts";

const skip = chromiumMissing();
const EMAIL = "screens@example.com";
const DESKTOP = { width: 1200, height: 800 };
const PHONE = { width: 390, height: 844 };

const CODE = "def add(a, b):\n    return a + b";
const ANSWER_WITH_CODE = ["Here is the function:", "", "```python", CODE, "```", "", "| city | days | cost |", "|:--|--:|--:|", "| Rome | 3 | 300 |", "| Paris | 2 | 260 |"].join("\n");

/** A tool the model may call that no page knows: the page must refuse it, not leave the turn pending. */
const GARAGE_TOOL = defineTool({ name: "open_garage", description: "Opens the garage door", parameters: z.object({}) });

/** Tools offered in the composer's tool menu. */
const COMPOSER_TOOLS = [
  defineTool({ name: "lookup", description: "Looks something up", parameters: z.object({}), composer: { label: "Look it up" }, handler: () => "nothing found" }),
  defineTool({ name: "forecast", description: "Weather forecast", parameters: z.object({}), composer: { label: "Weather forecast" }, handler: () => "sunny" }),
];

const FIGURES_ACTIONS = {
  refresh_figures: defineAction({
    handler: (_action, ctx) => {
      const card = structuredClone(ctx.sender!.widget) as any;
      card.children[0] = { type: "Title", value: "Figures (refreshed)" };
      ctx.updateSender(card);
    },
  }),
};



const focusedInside = (page: Page, selector: string) => page.evaluate(`document.activeElement?.closest(${JSON.stringify(selector)}) != null`);

describe("the built-in client's screens: accessibility, keyboard, widgets, client tools", { skip }, () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  let browser: Browser;
  const violations: string[] = [];

  /** axe on the screen as it is, in light and in dark, and a screenshot of each kept as a test artefact. */
  async function checkScreen(name: string): Promise<void> {
    const { page } = browser;
    const phone = (page.viewportSize()?.width ?? DESKTOP.width) < 500;
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      violations.push(...(await seriousAccessibilityViolations(page, `${name} (${scheme})`)));
      await browser.screenshot(`${name}-${phone ? "phone" : "desktop"}-${scheme}`);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }

  before(async () => {
    await ensureWebClientBuilt();
    fake = await startFakeOpenAI();
    server = await startTestServer({
      config: {
        pages: { ui: "builtin" },
        agents: [
          {
            ...TEST_AGENT,
            baseURL: fake.baseURL,
            apiKey: "sk-test",
            tools: [...browserTools, GARAGE_TOOL, ...COMPOSER_TOOLS],
            actions: FIGURES_ACTIONS,
            startScreen: {
              greeting: "Where shall we travel?",
              prompts: [
                { label: "Code and a table", prompt: "Show me **code** and a `table`" },
                { label: "Plan a weekend", prompt: "Plan a weekend in Rome", icon: "calendar" },
              ],
            },
          },
        ],
        openai: { maxRetries: 0 },
      },
    });
    browser = await openBrowser({ viewport: DESKTOP });
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  });
  after(async () => {
    await browser?.close();
    await server?.close({ removeData: true });
    await fake?.close();
  });

  test("one header and no fallback notice in builtin mode; the start screen greets and offers the agent's prompts", async () => {
    const { page } = browser;
    await page.goto(await loginLinkFor(server, EMAIL, "assistant"));
    await page.getByRole("heading", { name: "Where shall we travel?" }).waitFor();
    assert.equal(await page.locator("header").count(), 1, "one header");
    assert.equal(await page.locator("h1").textContent(), "Assistant");
    assert.equal(await page.locator(".ck-banner-notice").count(), 0, "builtin mode has nothing to apologise for");
    assert.deepEqual(await page.locator(".ck-prompt").allTextContents(), ["Code and a table", "Plan a weekend"]);
    const account = page.locator(".ck-account summary");
    assert.equal(await account.getAttribute("aria-label"), `Account: ${EMAIL}`);
    await account.click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Sign out" }).waitFor({ state: "hidden" });
    await account.press("Enter");
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await account.click();
    await page.getByRole("button", { name: "Sign out" }).waitFor({ state: "hidden" });
    await checkScreen("start");
  });

  test("a prompt starts the conversation; the title is plain text; code is labelled, highlighted and copied; tables read well", async () => {
    const { page } = browser;
    fake.queue.push({ text: ANSWER_WITH_CODE });
    await page.getByRole("button", { name: "Code and a table" }).click();
    await page.locator(".ck-user .ck-bubble", { hasText: "Show me **code** and a `table`" }).waitFor();
    const code = page.locator(".ck-assistant .ck-code");
    await code.waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();
    assert.equal(await code.locator(".ck-code-lang").textContent(), "python");
    assert.deepEqual(await code.locator(".hljs-keyword").allTextContents(), ["def", "return"], "highlighted by the bundled highlighter");
    assert.equal(await code.locator("code").textContent(), CODE);

    await page.getByRole("button", { name: "Copy python code" }).click();
    await code.getByRole("button", { name: "Copied python code" }).waitFor();
    assert.equal(await page.evaluate("navigator.clipboard.readText()"), CODE, "the code, not its markup, is on the clipboard");

    const table = page.locator(".ck-assistant .ck-table table");
    assert.deepEqual(await table.locator("th").allTextContents(), ["city", "days", "cost"]);
    assert.deepEqual(await table.locator("tbody tr").first().locator("td").allTextContents(), ["Rome", "3", "300"]);
    assert.equal(await table.locator("td").nth(1).getAttribute("align"), "right", "numbers keep their alignment");

    await page.locator(".ck-history li", { hasText: "Show me code and a table" }).waitFor();
    assert.equal(await page.locator(".ck-thread-title").textContent(), "Show me code and a table", "the title has no Markdown");
    const owner = await ownerOf(server, EMAIL);
    const [thread] = (await threadPage(server.store, owner, { limit: 1, order: "desc" })).rows;
    assert.equal(thread!.title, "Show me code and a table", "made from plain text on the server");
    await checkScreen("conversation");
  });

  test("client tools: the browser answers the ones it knows and refuses any other, so no turn stays pending", async () => {
    const { page } = browser;
    const first = fake.requests.length;
    fake.queue.push({ toolCalls: [{ name: "get_current_time", arguments: {} }] }, { text: "It is tea time." });
    await page.getByRole("textbox", { name: "Message" }).fill("What time is it where I am?");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await page.locator(".ck-assistant", { hasText: "It is tea time." }).waitFor();
    const [time] = toolExchanges("responses", fake.requests[first + 1]!.body);
    const timeOutput = JSON.parse(time!.output);
    assert.equal(time!.name, "get_current_time");
    assert.equal(timeOutput.time_zone, await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone"));
    assert.ok(Math.abs(Date.parse(timeOutput.iso) - Date.now()) < 60_000, "the browser's clock");

    fake.queue.push({ toolCalls: [{ name: "copy_to_clipboard", arguments: { text: "Via Appia 1, Roma" } }] }, { text: "Copied the address." });
    await page.getByRole("textbox", { name: "Message" }).fill("Copy the address for me");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await page.locator(".ck-assistant", { hasText: "Copied the address." }).waitFor();
    assert.equal(await page.evaluate("navigator.clipboard.readText()"), "Via Appia 1, Roma");

    fake.queue.push({ toolCalls: [{ name: "open_garage", arguments: {} }] }, { text: "I cannot open the garage from here." });
    await page.getByRole("textbox", { name: "Message" }).fill("Open the garage");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await page.locator(".ck-assistant", { hasText: "I cannot open the garage from here." }).waitFor();
    const refused = toolExchanges("responses", fake.requests.at(-1)!.body).at(-1)!;
    assert.equal(refused.name, "open_garage");
    assert.equal(JSON.parse(refused.output).error, "unknown_client_tool");
    await page.locator(".ck-tool-call", { hasText: "open_garage refused" }).waitFor();

    const owner = await ownerOf(server, EMAIL);
    const [thread] = (await threadPage(server.store, owner, { limit: 1, order: "desc" })).rows;
    const calls = (await itemPage(server.store, owner, thread!.id, { limit: 50, order: "asc" })).rows.filter((item) => item.type === "client_tool_call");
    assert.deepEqual(calls.map((call) => call.type === "client_tool_call" && [call.name, call.status]), [["get_current_time", "completed"], ["copy_to_clipboard", "completed"], ["open_garage", "completed"]]);
    await checkScreen("client-tools");
  });

  test("Chart and Table widgets are drawn (uPlot from our origin, a real table); widget buttons work from the keyboard", async () => {
    const { page } = browser;
    const owner = await ownerOf(server, EMAIL);
    const thread = await server.store.threads.create(owner, "assistant", "Travel figures");
    await server.store.items.add(owner, userMessage(thread.id, "Show me the figures"));
    const card: WidgetItem = {
      id: "msg_w_figures",
      thread_id: thread.id,
      created_at: toIso(monotonicNow()),
      type: "widget",
      widget: {
        type: "Card",
        size: "lg",
        children: [
          { type: "Title", value: "Figures" },
          {
            type: "Chart",
            height: 200,
            data: [
              { month: "jan", visitors: 120, nights: 300 },
              { month: "feb", visitors: 150, nights: 340 },
              { month: "mar", visitors: 210, nights: 420 },
            ],
            series: [
              { type: "bar", dataKey: "visitors", label: "Visitors", color: "blue" },
              { type: "line", dataKey: "nights", label: "Nights", color: "orange" },
            ],
            xAxis: { dataKey: "month", labels: { jan: "January", feb: "February", mar: "March" } },
          },
          {
            type: "Table",
            children: [
              { type: "Table.Row", header: true, children: [{ type: "Table.Cell", children: [{ type: "Text", value: "City" }] }, { type: "Table.Cell", align: "end", children: [{ type: "Text", value: "Nights" }] }] },
              { type: "Table.Row", children: [{ type: "Table.Cell", children: [{ type: "Text", value: "Rome" }] }, { type: "Table.Cell", align: "end", children: [{ type: "Text", value: "3" }] }] },
              { type: "Table.Row", children: [{ type: "Table.Cell", children: [{ type: "Text", value: "Paris" }] }, { type: "Table.Cell", align: "end", children: [{ type: "Text", value: "2" }] }] },
            ],
          },
          { type: "Button", label: "Refresh figures", onClickAction: { type: "refresh_figures", streaming: false } },
        ],
      },
    };
    await server.store.items.add(owner, card);
    await page.reload();
    await page.locator(".ck-thread-link", { hasText: "Travel figures" }).press("Enter");
    const chart = page.locator(".w-chart");
    await chart.locator("canvas").waitFor();
    const legend = await chart.locator(".u-legend").textContent();
    assert.ok(legend!.includes("Visitors") && legend!.includes("Nights"), `both series in the legend: ${legend}`);
    assert.match((await chart.getAttribute("aria-label"))!, /Chart of Visitors, Nights by month/);
    assert.deepEqual(await chart.locator(":scope > table tbody th").allTextContents(), ["January", "February", "March"], "the data, for screen readers");
    assert.deepEqual(await chart.locator(":scope > table tbody tr").first().locator("td").allTextContents(), ["120", "300"]);
    assert.ok(browser.requests.some((url) => new URL(url).origin === server.url && /\/webclient\/chart-[A-Z0-9]+\.js$/.test(url)), "the chart code came from us, when needed");
    const table = page.locator(".w-table table");
    assert.deepEqual(await table.locator("thead th").allTextContents(), ["City", "Nights"]);
    assert.deepEqual(await table.locator("tbody tr").nth(1).locator("td").allTextContents(), ["Paris", "2"]);
    assert.equal(await table.locator("tbody td").nth(1).evaluate((cell) => (cell as any).style.textAlign), "right");
    await checkScreen("widgets");

    await page.getByRole("button", { name: "Refresh figures" }).focus();
    await page.keyboard.press("Enter");
    await page.locator(".w-title", { hasText: "Figures (refreshed)" }).waitFor();
  });

  test("keyboard: history rows open with Enter, Tab moves along a row, the tool-less composer sends with Enter", async () => {
    const { page } = browser;
    const row = page.locator(".ck-thread-link", { hasText: "Show me code and a table" });
    await row.focus();
    await page.keyboard.press("Enter");
    await page.locator(".ck-thread-title", { hasText: "Show me code and a table" }).waitFor();
    await row.focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('aria-label')"), "Rename Show me code and a table");
    fake.queue.push({ text: "Keyboard answer." });
    await page.getByRole("textbox", { name: "Message" }).focus();
    await page.keyboard.type("Typed, not clicked");
    await page.keyboard.press("Enter");
    await page.locator(".ck-assistant", { hasText: "Keyboard answer." }).waitFor();
  });

  test("phone: a drawer under the header with a backdrop, a close button, outside taps, a focus trap and the focus returned", async () => {
    const { page } = browser;
    await page.setViewportSize(PHONE);
    await page.locator(".ck-history").waitFor({ state: "hidden" });
    const header = await page.locator(".ck-topbar").boundingBox();
    assert.ok(header && header.height <= 56, `little chrome above the conversation: ${header?.height}px`);
    await checkScreen("conversation");

    const toggle = page.getByRole("button", { name: "Conversations", exact: true });
    await toggle.focus();
    await page.keyboard.press("Enter");
    const drawer = page.getByRole("dialog", { name: "Conversations" });
    await drawer.waitFor();
    await until(() => focusedInside(page, ".ck-history"));
    assert.equal(await focusedInside(page, ".ck-history"), true, "the drawer takes the focus");
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
      assert.equal(await focusedInside(page, ".ck-history"), true, `Tab stays in the drawer (press ${i + 1})`);
    }
    const box = (await toggle.boundingBox())!;
    const onTop = await page.evaluate(`document.elementFromPoint(${box.x + box.width / 2}, ${box.y + box.height / 2})?.closest(".ck-history-toggle") != null`);
    assert.equal(onTop, true, "the drawer does not cover the menu button");
    await page.waitForTimeout(200);
    await checkScreen("drawer");

    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });
    await until(() => page.evaluate("document.activeElement?.getAttribute('aria-label') === 'Conversations'"));
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('aria-label')"), "Conversations", "the focus is back on the menu button");

    await toggle.click();
    await drawer.waitFor();
    await page.mouse.click(PHONE.width - 20, PHONE.height / 2);
    await drawer.waitFor({ state: "detached" });
    assert.equal(await page.locator(".ck-backdrop").count(), 0, "a tap outside closed it");

    await toggle.click();
    await drawer.getByRole("button", { name: "Close the list" }).click();
    await drawer.waitFor({ state: "detached" });

    await toggle.click();
    await drawer.locator(".ck-thread-link", { hasText: "Travel figures" }).click();
    await page.locator(".w-chart canvas").waitFor();
    assert.equal(await page.locator(".ck-backdrop").count(), 0, "opening a conversation closes the drawer");
    const overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert.equal(overflow, 0, "nothing wider than the phone");
    await checkScreen("widgets");

    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("heading", { name: "Where shall we travel?" }).waitFor();
    await checkScreen("start");
    await page.setViewportSize(DESKTOP);
  });

  test("the tool menu opens from the keyboard, moves with the arrow keys, closes with Escape and picks with Enter", async () => {
    const { page } = browser;
    const menuButton = page.getByRole("button", { name: "Tools", exact: true });
    await menuButton.focus();
    await page.keyboard.press("Enter");
    const menu = page.getByRole("menu", { name: "Tools" });
    await menu.waitFor();
    assert.deepEqual(await menu.getByRole("menuitemradio").allTextContents(), ["Look it up", "Weather forecast"]);
    await until(async () => (await page.evaluate("document.activeElement?.textContent")) === "Look it up");
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate("document.activeElement?.textContent"), "Weather forecast");
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate("document.activeElement?.textContent"), "Look it up", "wraps around");
    await checkScreen("tool-menu");
    await page.keyboard.press("Escape");
    await menu.waitFor({ state: "detached" });
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('aria-label')"), "Tools", "the focus is back on the button");
    await page.keyboard.press("Enter");
    await menu.waitFor();
    await until(async () => (await page.evaluate("document.activeElement?.textContent")) === "Look it up");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Tool: Weather forecast" }).waitFor();
    await page.getByRole("button", { name: "Stop using Weather forecast" }).click();
    await menuButton.waitFor();
  });

  test("no serious or critical accessibility violation on any screen, no request off our origin, no script error", () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(browser.foreignRequests(server.url), []);
    assert.deepEqual(browser.pageErrors, []);
  });
});

test("the JavaScript a chat page loads up front stays within its 80 KiB gzipped budget; the chart code comes only with a chart", async () => {
  const outdir = mkdtempSync(path.join(tmpdir(), "chatkit-webclient-"));
  try {
    const files = await buildWebClient(outdir);
    const initial = initialJsBytes(files, outdir);
    assert.ok(initial <= INITIAL_JS_BUDGET_BYTES, `${(initial / 1024).toFixed(1)} KiB gzipped up front`);
    const chart = files.find((file) => /^chart-[A-Z0-9]+\.js$/.test(file.name));
    assert.ok(chart?.lazy, "the chart code is loaded when needed");
    // uPlot sits in the chart chunk, or in a chunk the chart shares with the admin page: either way one loaded only when needed.
    const withUplot = files.filter((file) => file.name.endsWith(".js") && readFileSync(path.join(outdir, file.name), "utf8").includes("u-legend"));
    assert.ok(withUplot.some((file) => file.name === chart.name || file.name.startsWith("chunk-")), "uPlot is built");
    assert.ok(files.every((file) => file.lazy || !file.name.endsWith(".js") || !readFileSync(path.join(outdir, file.name), "utf8").includes("u-legend")), "and only there");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
