import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ChatkitConfig } from "./schema.ts";

export const COOKIE_SECRET_FILE = "cookie-secret";

/**
 * The keys that sign cookies: the config's, else one random key generated on first start and
 * kept in the data dir (so sessions survive restarts and a backup carries them).
 */
export function resolveCookieKeys(config: ChatkitConfig): string[] {
  if (config.cookieKeys.length > 0) return config.cookieKeys;
  const file = path.join(config.dataDir, COOKIE_SECRET_FILE);
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (existing) return [existing];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  return [key];
}
