import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { JWKS_ALGORITHMS, SECRET_ALGORITHMS, type JwtIssuerConfig } from "../config/schema.ts";

/** What an app's verified token says about its user. */
export interface VerifiedJwt {
  issuer: string;
  subject: string;
  email: string | null;
  /** The app vouches for the address unless it says `email_verified: false`. */
  emailVerified: boolean;
  /** `exp`, in seconds. */
  expiresAt: number;
}

export type JwtCheck = { ok: true; token: VerifiedJwt } | { ok: false; reason: string };

interface Issuer {
  config: JwtIssuerConfig;
  key: JWTVerifyGetKey | Uint8Array;
  algorithms: string[];
}

/** Tokens remembered once verified, at most, and the longest one remembered (the cache stays under ~40 MB). */
const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_TOKEN_CHARS = 4_096;

/** Three base64url parts: a compact JWS. Session tokens are one part, so the two never mix. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/**
 * Verifies tokens that apps sign for their users (`signIn.jwt`), with jose: the issuer picked by
 * the token's `iss`, then signature (algorithms allow-listed per issuer, so a public key is never
 * taken as an HMAC secret and `none` never passes), `iss`, `aud`, `exp` (required), `nbf` and
 * `sub` (required), with bounded clock tolerance. A JWKS is fetched once and cached by jose,
 * fetched again only for a key id it does not hold (at most once per `jwksCooldownSec`), so keys
 * rotate without a restart and no request waits on a fetch otherwise. A token verified once is
 * remembered until it expires (the same bytes verify the same way), so a client sending the same
 * token on every request pays for the signature once.
 */
export class JwtVerifier {
  private readonly issuers = new Map<string, Issuer>();
  private readonly verified = new Map<string, VerifiedJwt>();

  constructor(configs: JwtIssuerConfig[]) {
    for (const config of configs) {
      const key = config.jwksUrl
        ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: config.jwksCooldownSec * 1000 })
        : new TextEncoder().encode(config.secret);
      const algorithms = config.algorithms ?? (config.jwksUrl ? [...JWKS_ALGORITHMS] : [SECRET_ALGORITHMS[0]]);
      this.issuers.set(config.issuer, { config, key, algorithms });
    }
  }

  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  async verify(token: string, now = Date.now()): Promise<JwtCheck> {
    const known = this.verified.get(token);
    if (known) {
      const tolerance = this.issuers.get(known.issuer)?.config.clockToleranceSec ?? 0;
      if (known.expiresAt + tolerance > now / 1000) return { ok: true, token: known };
      this.verified.delete(token);
    }
    let claimedIssuer: unknown;
    try {
      claimedIssuer = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    const issuer = typeof claimedIssuer === "string" ? this.issuers.get(claimedIssuer) : undefined;
    if (!issuer) return { ok: false, reason: "unknown_issuer" };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.key as JWTVerifyGetKey, {
        issuer: issuer.config.issuer,
        audience: issuer.config.audience,
        algorithms: issuer.algorithms,
        clockTolerance: issuer.config.clockToleranceSec,
        currentDate: new Date(now),
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      return { ok: false, reason: failureReason(error) };
    }
    if (typeof payload.sub !== "string" || payload.sub === "") return { ok: false, reason: "missing_sub" };
    const verified: VerifiedJwt = {
      issuer: issuer.config.issuer,
      subject: payload.sub,
      email: typeof payload.email === "string" && payload.email !== "" ? payload.email : null,
      emailVerified: payload.email_verified !== false,
      expiresAt: payload.exp!,
    };
    if (token.length <= VERIFIED_CACHE_TOKEN_CHARS) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, verified);
    }
    return { ok: true, token: verified };
  }
}

/** A short, stable reason for the log: which check refused the token. */
function failureReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim_${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "unknown_key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return "jwks_unavailable";
  if (error instanceof errors.JOSEError) return error.code.toLowerCase().replace(/^err_/, "");
  return "jwks_unavailable";
}
