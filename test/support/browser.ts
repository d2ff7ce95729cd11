import type { TestServer } from "./app.ts";

/** A login link's URL on the test server, created as `npm run login-link` does. */
export async function loginLinkFor(server: TestServer, email: string, agentId: string | null = null, ttlMs = 60_000): Promise<string> {
  const { user } = await server.store.users.findOrCreate(email);
  const { token } = await server.store.loginLinks.create(user.id, { agentId, ttlMs });
  return `${server.url}/login/${token}`;
}

/**
 * Opens a URL without following redirects, as the first hop of a browser would when the URL is
 * typed or pasted into it (`Sec-Fetch-Site: none`); `headers` add to or replace that.
 */
export function openWithoutRedirect(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { redirect: "manual", headers: { "sec-fetch-site": "none", ...headers } });
}

/** Submits the sign-in confirmation form of a login link, as a browser does (from `origin`). */
export function confirmLoginLink(url: string, origin: string | undefined): Promise<Response> {
  return fetch(url, { method: "POST", redirect: "manual", headers: origin ? { origin } : {} });
}

/** The `Cookie` request header a browser would send back for these `Set-Cookie` lines. */
export function cookieHeader(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";", 1)[0]!)
    .join("; ");
}

/** Signs in through a fresh login link and returns the browser's `Cookie` header. */
export async function signIn(server: TestServer, email: string, agentId: string | null = null): Promise<string> {
  const response = await openWithoutRedirect(await loginLinkFor(server, email, agentId));
  if (response.status !== 303) throw new Error(`login link answered ${response.status}`);
  return cookieHeader(response);
}
