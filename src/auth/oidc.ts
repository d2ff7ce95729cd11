import * as client from "openid-client";
import type { OidcProviderConfig } from "../config/schema.ts";

/** What a browser carries between the start of a sign-in and the provider's callback (in a signed cookie). */
export interface OidcFlow {
  /** The provider id the flow was started for. */
  provider: string;
  state: string;
  nonce: string;
  /** The PKCE code verifier; the provider only ever saw its S256 challenge. */
  verifier: string;
  /** The chat page to open afterwards (an agent id), when the sign-in started from one. */
  agentId?: string;
}

/** A person the provider vouched for: stable by `issuer` + `subject`, with a verified email. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string;
}

/**
 * Why a callback signed nobody in (logged; the browser is told only that sign-in failed):
 * - `no_flow`: no (valid) flow cookie, e.g. a callback nobody started here, or an expired one;
 * - `state_mismatch`: the callback's `state` is not the one this browser started with;
 * - `provider_refused`: the provider answered with an error (the person cancelled, consent denied);
 * - `token_refused`: the token endpoint refused the code (used, expired, not ours);
 * - `id_token_invalid`: the ID token (signature, issuer, audience, nonce, expiry) or the exchange failed a check;
 * - `email_missing`, `email_not_verified`: no email, or one the provider does not vouch for;
 * - `claim_missing`: the provider's `requiredClaim` is absent or has another value;
 * - `provider_unavailable`: discovery or the token endpoint could not be reached.
 */
export type OidcRefusal =
  | "no_flow"
  | "state_mismatch"
  | "provider_refused"
  | "token_refused"
  | "id_token_invalid"
  | "email_missing"
  | "email_not_verified"
  | "claim_missing"
  | "provider_unavailable";

export type OidcResult = { ok: true; identity: OidcIdentity } | { ok: false; reason: OidcRefusal; detail: string };

/** Discovery documents are kept this long, then fetched again on the next sign-in. */
const DISCOVERY_TTL_MS = 24 * 60 * 60 * 1000;
/** After a failed discovery, sign-ins through that provider fail fast for this long rather than each waiting on it. */
const DISCOVERY_RETRY_MS = 30_000;
/** Milliseconds each request to a provider may take. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** A plain-http issuer is allowed on a loopback host only (config checks); openid-client wants that said. */
function allowsPlainHttp(issuer: string): boolean {
  return new URL(issuer).protocol === "http:";
}

class ProviderUnavailable extends Error {}

/** One provider's discovered configuration, fetched once and kept (not per request). */
class DiscoveredProvider {
  private cached: { configuration: Promise<client.Configuration>; expiresAt: number } | undefined;

  constructor(
    readonly settings: OidcProviderConfig,
    private readonly now: () => number,
  ) {}

  configuration(): Promise<client.Configuration> {
    const now = this.now();
    if (this.cached && this.cached.expiresAt > now) return this.cached.configuration;
    const configuration = this.discover();
    this.cached = { configuration, expiresAt: now + DISCOVERY_TTL_MS };
    configuration.catch(() => {
      if (this.cached?.configuration === configuration) this.cached.expiresAt = this.now() + DISCOVERY_RETRY_MS;
    });
    return configuration;
  }

  private async discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.settings;
    try {
      const configuration = await client.discovery(
        new URL(issuer),
        clientId,
        undefined,
        clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
        { execute: allowsPlainHttp(issuer) ? [client.allowInsecureRequests] : [], timeout: PROVIDER_TIMEOUT_MS },
      );
      configuration.timeout = PROVIDER_TIMEOUT_MS;
      // An ID token from the token endpoint is otherwise trusted for the TLS connection it came
      // over: check its signature against the provider's JWKS too (fetched once, then cached).
      client.enableNonRepudiationChecks(configuration);
      return configuration;
    } catch (error) {
      throw new ProviderUnavailable(`discovery of ${issuer} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The configured OpenID Connect providers: authorization code flow with PKCE, state and nonce;
 * the ID token is validated by openid-client (signature against the provider's JWKS, issuer,
 * audience, expiry, nonce), then the email must be present and verified and the required claim
 * (if any) present. Who may then sign in (the allow-list) is the caller's decision.
 */
export class OidcProviders {
  private readonly providers: Map<string, DiscoveredProvider>;

  constructor(providers: readonly OidcProviderConfig[], now: () => number = Date.now) {
    this.providers = new Map(providers.map((settings) => [settings.id, new DiscoveredProvider(settings, now)]));
  }

  /** The providers as the signed-out page lists them. */
  list(): Array<{ id: string; name: string }> {
    return [...this.providers.values()].map(({ settings }) => ({ id: settings.id, name: settings.name }));
  }

  settings(id: string): OidcProviderConfig | undefined {
    return this.providers.get(id)?.settings;
  }

  /** The URL to send the browser to, and the flow it must bring back. Throws when the provider cannot be reached. */
  async start(id: string, redirectUri: string, agentId?: string): Promise<{ url: string; flow: OidcFlow }> {
    const provider = this.providers.get(id);
    if (!provider) throw new Error(`unknown OpenID Connect provider ${id}`);
    const configuration = await provider.configuration();
    const flow: OidcFlow = {
      provider: id,
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      ...(agentId ? { agentId } : {}),
    };
    const scopes = new Set(["openid", ...provider.settings.scopes]);
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      response_type: "code",
      scope: [...scopes].join(" "),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: "S256",
    });
    return { url: url.href, flow };
  }

  /**
   * Checks the provider's callback against the browser's flow, exchanges the code and validates
   * what comes back. `query` is the callback's raw query string; `redirectUri` the one sent at start.
   */
  async finish(id: string, redirectUri: string, query: string, flow: OidcFlow | undefined): Promise<OidcResult> {
    const provider = this.providers.get(id);
    if (!provider || !flow || flow.provider !== id) return { ok: false, reason: "no_flow", detail: "no sign-in was started for this provider in this browser" };
    const params = new URLSearchParams(query);
    if (params.get("state") !== flow.state) return { ok: false, reason: "state_mismatch", detail: "the callback's state is not this browser's" };
    const callbackUrl = new URL(redirectUri);
    callbackUrl.search = params.toString();
    let configuration: client.Configuration;
    let claims: Record<string, unknown>;
    try {
      configuration = await provider.configuration();
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) return { ok: false, reason: "id_token_invalid", detail: "no ID token" };
      claims = { ...idClaims };
      const settings = provider.settings;
      const lacksClaims = claims.email === undefined || (settings.requiredClaim !== undefined && claims[settings.requiredClaim.claim] === undefined);
      if (lacksClaims && configuration.serverMetadata().userinfo_endpoint) {
        // The ID token's own claims win; userinfo only fills in what it left out.
        claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub)), ...idClaims };
      }
    } catch (error) {
      return { ok: false, ...classifyFailure(error) };
    }
    return checkClaims(provider.settings, configuration.serverMetadata().issuer, claims);
  }

  /** The provider's end-session (sign-out) URL, when it has one and its discovery is at hand. */
  async endSessionUrl(id: string): Promise<string | undefined> {
    const provider = this.providers.get(id);
    if (!provider) return undefined;
    try {
      const configuration = await provider.configuration();
      if (!configuration.serverMetadata().end_session_endpoint) return undefined;
      return client.buildEndSessionUrl(configuration, { client_id: provider.settings.clientId }).href;
    } catch {
      return undefined;
    }
  }
}

/** The email must be there and verified (a boolean true; some providers send the string "true"), and the required claim present. */
function checkClaims(settings: OidcProviderConfig, issuer: string, claims: Record<string, unknown>): OidcResult {
  const subject = claims.sub;
  if (typeof subject !== "string" || subject === "") return { ok: false, reason: "id_token_invalid", detail: "no sub claim" };
  const email = claims.email;
  if (typeof email !== "string" || email === "") return { ok: false, reason: "email_missing", detail: "no email claim (is the email scope granted?)" };
  if (claims.email_verified !== true && claims.email_verified !== "true") {
    return { ok: false, reason: "email_not_verified", detail: `email_verified is ${JSON.stringify(claims.email_verified)}` };
  }
  const required = settings.requiredClaim;
  if (required) {
    const value = claims[required.claim];
    const holds = Array.isArray(value) ? value.includes(required.value) : value === required.value;
    if (!holds) return { ok: false, reason: "claim_missing", detail: `claim ${required.claim} does not hold ${JSON.stringify(required.value)}` };
  }
  return { ok: true, identity: { issuer, subject, email: email.trim().toLowerCase() } };
}

/** Sorts what openid-client threw into a refusal; the detail (its code and message) goes to the log only. */
function classifyFailure(error: unknown): { reason: OidcRefusal; detail: string } {
  if (error instanceof ProviderUnavailable) return { reason: "provider_unavailable", detail: error.message };
  const { code, message } = error as { code?: unknown; message?: unknown };
  const detail = `${typeof code === "string" ? `${code}: ` : ""}${String(message)}`;
  if (code === "OAUTH_AUTHORIZATION_RESPONSE_ERROR") return { reason: "provider_refused", detail };
  if (code === "OAUTH_RESPONSE_BODY_ERROR") return { reason: "token_refused", detail };
  // fetch failures (unreachable, timeout) carry no OAuth code.
  if (error instanceof TypeError || (error as Error).name === "TimeoutError" || (error as Error).name === "AbortError") return { reason: "provider_unavailable", detail };
  return { reason: "id_token_invalid", detail };
}
