import type { ChatkitConfig } from "../config/schema.ts";
import type { Store, UserRow } from "../store/index.ts";

/** Where a sign-in link's token goes: `<base URL>/login/<token>`. */
export const LOGIN_PATH_PREFIX = "/login/";

/** Creates a one-time sign-in link for the user, valid `ttlMs`, and returns its URL under `baseUrl`. */
export async function createLoginLink(
  store: Store,
  baseUrl: string,
  user: UserRow,
  options: { agentId: string | null; ttlMs: number },
): Promise<{ url: string; expiresAt: number }> {
  const { token, link } = await store.loginLinks.create(user.id, options);
  return { url: `${baseUrl.replace(/\/+$/, "")}${LOGIN_PATH_PREFIX}${token}`, expiresAt: link.expires_at };
}

/** Who the first sign-in link is for when the config names no administrator (`admins`). */
export const FIRST_ADMIN_PLACEHOLDER = "admin@localhost";

/**
 * On a box nobody has signed in to yet, a single-use sign-in link for the first administrator
 * (the first of `admins`, else FIRST_ADMIN_PLACEHOLDER), as notebook servers print their
 * tokened URL, so the first person in needs no second terminal. "Nobody yet": no users, or only
 * that administrator, who has never had a session (a restart after the link expired unused
 * prints a fresh one). That user is created with the admin role. Undefined otherwise.
 */
export async function firstSignInLink(store: Store, config: ChatkitConfig, baseUrl: string): Promise<{ email: string; url: string; expiresAt: number } | undefined> {
  const email = config.admins[0] ?? FIRST_ADMIN_PLACEHOLDER;
  const users = await store.users.list();
  if (users.length > 1 || (users.length === 1 && users[0]!.email !== email)) return undefined;
  let { user } = await store.users.findOrCreate(email);
  if (user.disabled_at !== null || (await store.sessions.listAll()).length > 0) return undefined;
  if (user.role !== "admin") user = (await store.users.setRole({ id: user.id }, "admin")) ?? user;
  const { url, expiresAt } = await createLoginLink(store, baseUrl, user, { agentId: null, ttlMs: config.signIn.linkMinutes * 60_000 });
  return { email: user.email, url, expiresAt };
}
