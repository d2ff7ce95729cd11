import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { userInput } from "./support/client.ts";
import { startTestServer, type TestServer } from "./support/app.ts";
import { fetchBytes, pngBytes, uploadDirect } from "./support/uploads.ts";

/**
 * Apps sign their users in with their own tokens: a JWKS served on loopback (keys made by
 * jose), or a shared HS256 secret. Every refusal is 401 `unauthorized` and creates nobody.
 */

const ISSUER = "https://app.test";
const AUDIENCE = "chatkit-box";
const HS_ISSUER = "https://hs.test";
const HS_SECRET = "a-shared-secret-of-at-least-32-characters!";

interface Key {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

async function makeKey(kid: string, alg: Key["alg"]): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" }, publicPem: await exportSPKI(publicKey) };
}

/** A JWKS endpoint whose keys the test replaces (rotation), counting how often it is fetched. */
async function startJwks(keys: Key[]): Promise<{ url: string; keys: Key[]; fetches: number; server: Server }> {
  const jwks = { url: "", keys, fetches: 0, server: undefined as unknown as Server };
  jwks.server = createServer((req, res) => {
    jwks.fetches++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: jwks.keys.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => jwks.server.listen(0, "127.0.0.1", resolve));
  jwks.url = `http://127.0.0.1:${(jwks.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return jwks;
}

function sign(key: Key, claims: JWTPayload, options: { exp?: string | number | null; nbf?: string | number; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? "5m");
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(key.privateKey);
}

describe("app-issued JWTs", () => {
  let rsa: Key;
  let ec: Key;
  let jwks: Awaited<ReturnType<typeof startJwks>>;
  let server: TestServer;

  before(async () => {
    rsa = await makeKey("rsa-1", "RS256");
    ec = await makeKey("ec-1", "ES256");
    jwks = await startJwks([rsa, ec]);
    server = await startTestServer({
      config: {
        server: { metrics: { enabled: true } },
        limits: { failedAuthPerMinute: 1000 },
        signIn: {
          jwt: [
            { issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwks.url, jwksCooldownSec: 1 },
            { issuer: HS_ISSUER, audience: [AUDIENCE, "other"], secret: HS_SECRET },
          ],
        },
      },
    });
  });
  after(async () => {
    await server.close({ removeData: true });
    jwks.server.close();
  });

  const userCount = async () => (await server.store.counts()).users;

  test("RS256 and ES256 tokens sign in; the user is provisioned once with the email claim and sees only their own threads", async () => {
    const before = await userCount();
    const rsToken = await sign(rsa, { sub: "user-1", email: "Ann@Example.com" });
    const created = await server.stream("threads.create", { input: userInput("hello from the app") }, { token: rsToken });
    assert.equal(created.status, 200);
    const listed = await server.request("threads.list", {}, { token: rsToken });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.data.length, 1);

    const esToken = await sign(ec, { sub: "user-1" });
    assert.equal((await server.request("threads.list", {}, { token: esToken })).body.data.length, 1, "the same iss + sub is the same user, whatever key signed");
    assert.equal(await userCount(), before + 1);
    const user = await server.store.users.findByEmail("ann@example.com");
    assert.ok(user);
    assert.deepEqual(
      (await server.store.identities.listFor(user.id)).map((identity) => [identity.provider, identity.subject]),
      [[`jwt:${ISSUER}`, "user-1"]],
    );

    const stranger = await sign(ec, { sub: "user-2", email: "bo@example.com" });
    assert.deepEqual((await server.request("threads.list", {}, { token: stranger })).body.data, [], "another subject sees none of them");
    const threadId = listed.body.data[0].id;
    assert.equal((await server.request("threads.get_by_id", { thread_id: threadId }, { token: stranger })).status, 404);
    assert.equal((await server.request("threads.list", {}, { token: await server.token("ann@example.com") })).body.data.length, 1, "a session of the same address is the same user");
    assert.ok(server.logger.infoLines.some((line) => line.includes("auth sign_in") && line.includes("user=ann@example.com") && line.includes("created=true")));
  });

  test("the attachment routes take the token too", async () => {
    const token = await sign(rsa, { sub: "user-1" });
    const uploaded = await uploadDirect(server, { name: "a.png", type: "image/png", bytes: pngBytes() }, token);
    assert.equal(uploaded.status, 200);
    assert.equal((await fetchBytes(`${server.url}/chatkit/attachments/${uploaded.body.id}`, token)).status, 200);
    const stranger = await sign(rsa, { sub: "user-2" });
    assert.equal((await fetchBytes(`${server.url}/chatkit/attachments/${uploaded.body.id}`, stranger)).status, 404);
  });

  test("a shared HS256 secret works for its own issuer", async () => {
    const secret = new TextEncoder().encode(HS_SECRET);
    const token = await new SignJWT({ sub: "h-1", email: "hs@example.com" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(HS_ISSUER)
      .setAudience("other")
      .setExpirationTime("5m")
      .sign(secret);
    assert.equal((await server.request("threads.list", {}, { token })).status, 200);
    assert.ok(await server.store.users.findByEmail("hs@example.com"));
  });

  test("every bad token is 401 unauthorized and creates nobody", async () => {
    const other = await makeKey("rsa-1", "RS256");
    const valid = await sign(rsa, { sub: "bad-case", email: "bad@example.com" });
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "user-1" })).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, string> = {
      expired: await sign(rsa, { sub: "bad-case", email: "bad@example.com" }, { exp: now - 3600 }),
      "not yet valid": await sign(rsa, { sub: "bad-case", email: "bad@example.com" }, { nbf: now + 3600 }),
      "no exp": await sign(rsa, { sub: "bad-case", email: "bad@example.com" }, { exp: null }),
      "wrong audience": await new SignJWT({ sub: "bad-case", email: "bad@example.com" }).setProtectedHeader({ alg: "RS256", kid: rsa.kid }).setIssuer(ISSUER).setAudience("someone-else").setExpirationTime("5m").sign(rsa.privateKey),
      "wrong issuer": await new SignJWT({ sub: "bad-case", email: "bad@example.com" }).setProtectedHeader({ alg: "RS256", kid: rsa.kid }).setIssuer("https://evil.test").setAudience(AUDIENCE).setExpirationTime("5m").sign(rsa.privateKey),
      "alg none": new UnsecuredJWT({ sub: "bad-case", email: "bad@example.com" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("5m").encode(),
      "HS256 signed with the public key": await new SignJWT({ sub: "bad-case", email: "bad@example.com" })
        .setProtectedHeader({ alg: "HS256", kid: rsa.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(rsa.publicPem)),
      "missing sub": await sign(rsa, { email: "bad@example.com" }),
      "unknown kid": await sign(rsa, { sub: "bad-case", email: "bad@example.com" }, { kid: "nobody-knows" }),
      "another key under a known kid": await sign(other, { sub: "bad-case", email: "bad@example.com" }),
      "tampered payload": `${header}.${tamperedPayload}.${signature}`,
    };
    const before = await userCount();
    for (const [name, token] of Object.entries(cases)) {
      const answer = await server.request("threads.list", {}, { token });
      assert.equal(answer.status, 401, name);
      assert.equal(answer.body.error, "unauthorized", name);
      const upload = await uploadDirect(server, { name: "a.png", type: "image/png", bytes: pngBytes() }, token);
      assert.equal(upload.status, 401, `${name} (upload)`);
    }
    assert.equal(await userCount(), before, "nobody was created");
    assert.equal(await server.store.users.findByEmail("bad@example.com"), undefined);
    const reasons = server.logger.infoLines.filter((line) => line.includes("auth sign_in_failed")).join("\n");
    for (const reason of ["reason=expired", "reason=claim_nbf", "reason=claim_aud", "reason=unknown_issuer", "reason=algorithm_not_allowed", "reason=unknown_key", "reason=bad_signature"]) {
      assert.ok(reasons.includes(reason), `${reason} in\n${reasons}`);
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /chatkit_auth_events_total\{event="sign_in_failed"\} (\d+)/);
    assert.ok(Number(/chatkit_auth_events_total\{event="sign_in_failed"\} (\d+)/.exec(metrics)![1]) >= Object.keys(cases).length * 2);
  });

  test("a token without an email for an unknown subject is refused; a disabled user's token stops working at once", async () => {
    assert.equal((await server.request("threads.list", {}, { token: await sign(rsa, { sub: "no-email" }) })).status, 401);
    const token = await sign(rsa, { sub: "soon-disabled", email: "soon@example.com" });
    assert.equal((await server.request("threads.list", {}, { token })).status, 200);
    await server.store.users.setDisabled({ email: "soon@example.com" }, true);
    assert.equal((await server.request("threads.list", {}, { token })).status, 401);
    await server.store.users.setDisabled({ email: "soon@example.com" }, false);
    assert.equal((await server.request("threads.list", {}, { token })).status, 200);
  });

  test("the JWKS is fetched once, not per request; a rotated key works without a restart", async () => {
    const fetchesBefore = jwks.fetches;
    const token = await sign(ec, { sub: "user-1" });
    for (let i = 0; i < 10; i++) assert.equal((await server.request("threads.list", {}, { token: await sign(ec, { sub: "user-1", n: i }) })).status, 200);
    assert.equal((await server.request("threads.list", {}, { token })).status, 200);
    assert.equal(jwks.fetches, fetchesBefore, "known keys are not fetched again");

    const rotated = await makeKey("rsa-2", "RS256");
    jwks.keys = [rotated, ec];
    // An unknown key id fetches the JWKS again, at most once per jwksCooldownSec (1 s here).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await server.request("threads.list", {}, { token: await sign(rotated, { sub: "user-1" }) })).status, 200);
    assert.equal(jwks.fetches, fetchesBefore + 1);
    // Within the cooldown, unknown key ids do not make the box fetch again.
    for (let i = 0; i < 5; i++) assert.equal((await server.request("threads.list", {}, { token: await sign(rsa, { sub: "user-1" }, { kid: `stranger-${i}` }) })).status, 401);
    assert.equal(jwks.fetches, fetchesBefore + 1);
  });
});
