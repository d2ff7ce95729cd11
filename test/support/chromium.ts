import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { buildWebClient, webClientIsStale } from "../../src/webclient/build.ts";

export const CHROMIUM = "/usr/bin/chromium";
/** Where browser tests leave screenshots of the main states for a person to look at. */
export const SCREENSHOT_DIR = process.env.CHATKIT_SCREENSHOT_DIR ?? path.join(tmpdir(), "chatkit-box-screenshots");

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
