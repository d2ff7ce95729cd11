import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { buildWebClient, webClientIsStale } from "../../src/webclient/build.ts";

export const CHROMIUM = "/usr/bin/chromium";
/** Where browser tests leave screenshots of the main states for a person to look at (git-ignored). */
export const SCREENSHOT_DIR = process.env.CHATKIT_SCREENSHOT_DIR ?? fileURLToPath(new URL("../../test-artifacts/screenshots", import.meta.url));
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** Headless, and none of Chromium's own traffic (updates, sync, QUIC probes): every request is the page's. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (Debian: apt-get install chromium); the browser tests did not run`;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the browser asked for, in order. */
  requests: string[];
  /** Errors thrown by the page's scripts. */
  pageErrors: string[];
  /** Requests to anywhere but these origins (and data:/blob:). */
  foreignRequests(...origins: string[]): string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** `npm test` builds the client first; a single test file run by hand may find it stale. */
export async function ensureWebClientBuilt(): Promise<void> {
  if (webClientIsStale()) await buildWebClient();
}

/**
 * Headless Debian Chromium with a fresh profile and no background traffic of its own, so every
 * request it makes is the page's.
 */
export async function openBrowser(
  options: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark"; extraArgs?: string[] } = {},
): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "chatkit-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
    viewport: options.viewport ?? { width: 1200, height: 800 },
    colorScheme: options.colorScheme ?? "light",
    timeout: 60_000,
  });
  context.setDefaultTimeout(30_000);
  const requests: string[] = [];
  const pageErrors: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => pageErrors.push(error.message));
  return {
    context,
    page,
    requests,
    pageErrors,
    foreignRequests: (...origins) =>
      requests.filter((url) => !url.startsWith("data:") && !url.startsWith("blob:") && !origins.includes(new URL(url).origin)),
    async screenshot(name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Runs axe-core (from node_modules) on the page as it is and answers its serious and critical
 * violations, one line each. The page's CSP refuses injected `<script>` elements, so the script
 * is evaluated through the DevTools protocol, as `addScriptTag` would run it on a page without one.
 */
export async function seriousAccessibilityViolations(page: Page, screen: string): Promise<string[]> {
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(readFileSync(AXE_SCRIPT, "utf8"));
  const results = (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) })))`)) as Array<{ id: string; impact: string; help: string; targets: string[] }>;
  return results.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${screen}: ${v.impact} ${v.id} (${v.help}) at ${v.targets.join(", ")}`);
}

/** Polls `check` from Node (the pages' CSP refuses the string predicates of waitForFunction) for up to five seconds. */
export async function until(check: () => Promise<unknown>): Promise<void> {
  for (let waited = 0; waited < 5_000 && !(await check()); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A real (decodable) PNG of one colour, so previews show a picture. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3).map((_, i) => rgb[i % 3]!)]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", header), chunk("IDAT", deflateSync(pixels)), chunk("IEND", Buffer.alloc(0))]);
}

/** `threads.list` for the first agent, sent from the page as its own script would (with the page's cookies). */
export function listThreadsFromPage(page: Page): Promise<{ status: number; body: unknown }> {
  return page.evaluate(async () => {
    const response = await fetch("/chatkit?agent_id=assistant", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "threads.list", params: {} }),
    });
    return { status: response.status, body: await response.json() };
  });
}
