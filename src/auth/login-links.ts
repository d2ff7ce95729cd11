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
