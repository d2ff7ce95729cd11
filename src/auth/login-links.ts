import type { ChatkitConfig } from "../config/schema.ts";
import type { Store, UserRow } from "../store/index.ts";

/** Where a login link's token goes: `/login/<token>`. */
export const LOGIN_PATH_PREFIX = "/login/";

/**
 * The base URL people reach this server at: `server.publicUrl`, else the listen address (a
 * wildcard host like 0.0.0.0 is not an address a browser can open, so 127.0.0.1 stands in).
 */
export function serverBaseUrl(config: ChatkitConfig): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, "");
  const host = ["0.0.0.0", "::", ""].includes(config.server.host) ? "127.0.0.1" : config.server.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}`;
}

/** Creates a one-time login link for the user and returns its URL on this server. */
export async function createLoginLink(
  store: Store,
  config: ChatkitConfig,
  user: UserRow,
  options: { agentId: string | null; minutes: number },
): Promise<{ url: string; expiresAt: number }> {
  const { token, link } = await store.loginLinks.create(user.id, { agentId: options.agentId, ttlMs: options.minutes * 60_000 });
  return { url: `${serverBaseUrl(config)}${LOGIN_PATH_PREFIX}${token}`, expiresAt: link.expires_at };
}
