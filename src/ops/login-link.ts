import type { ChatkitConfig } from "../config/schema.ts";
import { LOGIN_PATH_PREFIX } from "../pages/routes.ts";
import type { Store, UserRow } from "../store/index.ts";

/**
 * The base URL people reach this server at: `server.publicUrl`, else the listen address (a
 * wildcard host like 0.0.0.0 is not an address a browser can open, so 127.0.0.1 stands in).
 */
export function serverBaseUrl(config: ChatkitConfig): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, "");
  const host = ["0.0.0.0", "::", ""].includes(config.server.host) ? "127.0.0.1" : config.server.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}`;
}

/** Creates a one-time login link for the user and returns its URL on this server (or at `baseUrl`). */
export async function createLoginLink(
  store: Store,
  config: ChatkitConfig,
  user: UserRow,
  options: { agentId: string | null; minutes: number; baseUrl?: string },
): Promise<{ url: string; expiresAt: number }> {
  const { token, link } = await store.loginLinks.create(user.id, { agentId: options.agentId, ttlMs: options.minutes * 60_000 });
  return { url: `${options.baseUrl ?? serverBaseUrl(config)}${LOGIN_PATH_PREFIX}${token}`, expiresAt: link.expires_at };
}

/** Who the first sign-in link is for when the config names no administrator. */
export const FIRST_ADMIN_PLACEHOLDER = "admin@localhost";

/**
 * On a box nobody has signed in to yet, a single-use sign-in link for the first administrator
 * (as notebook servers print their tokened URL), so the first person in needs no second
 * terminal. "Nobody yet": no users, or only that administrator, who has never had a session
 * (a restart after the link expired unused prints a fresh one). Undefined otherwise.
 */
export async function firstSignInLink(store: Store, config: ChatkitConfig, baseUrl: string): Promise<{ email: string; url: string; expiresAt: number } | undefined> {
  const email = FIRST_ADMIN_PLACEHOLDER;
  const users = await store.users.list();
  if (users.length > 1 || (users.length === 1 && users[0]!.email !== email)) return undefined;
  const { user } = await store.users.findOrCreate(email);
  if (user.disabled_at !== null || (await store.sessions.listAll()).length > 0) return undefined;
  const { url, expiresAt } = await createLoginLink(store, config, user, { agentId: null, minutes: config.signIn.linkMinutes, baseUrl });
  return { email: user.email, url, expiresAt };
}
