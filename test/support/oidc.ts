import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";

/** The claims a test account's sign-in gives (besides `sub`, its id). */
export type AccountClaims = { email?: string; email_verified?: boolean; groups?: string[] };

export interface TestOidcProvider {
  /** The issuer URL (http on 127.0.0.1). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The path of every request the provider answered, in order. */
  requests: string[];
  /** The next token response carries an ID token with the same claims and `kid`, signed with a key the provider never published. */
  forgeNextIdToken(): void;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (`oidc-provider`) on 127.0.0.1 with one confidential client for the
 * box. `accounts` are who may log in (by id, typed into its login form); consent is given at
 * once (first-party client). Its own login page loads nothing from elsewhere (the library's
 * development pages import a web font). Start it, start the box with its issuer, then call
 * `register(redirectUri)` with the box's callback URL.
 */
export async function startOidcProvider(accounts: Record<string, AccountClaims>): Promise<TestOidcProvider & { register(redirectUris: string[]): void }> {
  let provider: Provider | undefined;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(new URL(req.url ?? "/", "http://x").pathname);
    if (!provider) {
      res.writeHead(503).end();
      return;
    }
    const interaction = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (interaction) {
      void answerInteraction(provider, interaction[1]!, req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(String(error));
      });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "chatkit-box";
  const clientSecret = "a-client-secret-for-the-test-box-0123456789";
  let forge = false;

  return {
    issuer,
    clientId,
    clientSecret,
    requests,
    forgeNextIdToken() {
      forge = true;
    },
    register(redirectUris) {
      provider = new Provider(issuer, {
        clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris, response_types: ["code"], grant_types: ["authorization_code"] }],
        cookies: { keys: ["test-provider-cookie-key-0123456789"] },
        claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
        scopes: ["openid", "email", "groups"],
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        pkce: { required: () => true },
        findAccount: (_ctx, id) => {
          const claims = accounts[id];
          return claims ? { accountId: id, claims: () => ({ sub: id, ...claims }) } : undefined;
        },
        // The box is a first-party client: every scope it asks for is granted without a consent page.
        loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
          const session = ctx.oidc.session!;
          const client = ctx.oidc.client!;
          const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
          if (existing) return ctx.oidc.provider.Grant.find(existing);
          const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId! });
          grant.addOIDCScope("openid email groups");
          await grant.save();
          return grant;
        },
      });
      provider.use(async (ctx, next) => {
        await next();
        const body = ctx.body as { id_token?: string } | undefined;
        if (forge && ctx.path === "/token" && body?.id_token) {
          forge = false;
          body.id_token = await forgedLike(body.id_token);
        }
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The provider's login page: GET shows a form for an account id; POST finishes the login as that account. */
async function answerInteraction(provider: Provider, uid: string, req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
  if (req.method === "POST") {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const login = new URLSearchParams(body).get("login") ?? "";
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  await provider.interactionDetails(req, res);
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider</title></head><body>
<form method="post" action="/interaction/${uid}"><label for="login">Account</label> <input id="login" name="login" required> <button type="submit">Log in</button></form>
</body></html>`);
}

/** An ID token with the same header `kid` and claims, signed with a fresh key the provider never published. */
async function forgedLike(idToken: string): Promise<string> {
  const header = decodeProtectedHeader(idToken);
  const { privateKey } = await generateKeyPair("RS256");
  return new SignJWT(decodeJwt(idToken))
    .setProtectedHeader({ alg: "RS256", ...(header.kid ? { kid: header.kid } : {}), typ: "JWT" })
    .sign(privateKey);
}
