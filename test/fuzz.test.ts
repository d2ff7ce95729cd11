import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";
import { requestParamSchemas } from "../src/protocol/requests.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { seedThread } from "./support/fixtures.ts";
import { rawRequest, type RawResponse } from "./support/raw-http.ts";
import { uploadDirect } from "./support/uploads.ts";

/**
 * Several thousand generated malformed requests across every request type and route. Seeded:
 * a failure prints its seed and case number; rerun with FUZZ_SEED=<seed> to reproduce it.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const CONCURRENCY = 8;
const REQUEST_TYPES = Object.keys(requestParamSchemas);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

/** A path no response body may reveal: stack frames, source files, this machine's folders. */
const LEAK = /\n\s+at |\bat .*\(.*:\d+:\d+\)|\.ts:\d+|node:internal|\/work\/|\/tmp\/|\/root\/|SqliteError|RangeError|TypeError/;

interface Fixtures {
  aliceToken: string;
  /** A third user who owns nothing: every id the fuzz names is someone else's to them. */
  carolToken: string;
  bobToken: string;
  bobThreadId: string;
  bobItemId: string;
  bobAttachmentId: string;
  aliceThreadId: string;
  aliceItemId: string;
}

/** Small gzip bodies that expand to 2 and 8 MiB of spaces: made once, sent many times. */
const BOMBS = [2, 8].map((mib) => gzipSync(Buffer.alloc(mib * 1024 * 1024, 0x20)));

const nestedArray = (depth: number) => JSON.parse("[".repeat(depth) + "]".repeat(depth));

/** A value of the wrong kind, a hostile string, or something deeply nested. */
function junk(rng: Rng, fx: Fixtures): unknown {
  switch (rng.int(16)) {
    case 0: return null;
    case 1: return rng.int(2) === 0 ? -1 : 1e308;
    case 2: return true;
    case 3: return [];
    case 4: return {};
    case 5: return "x".repeat(rng.pick([0, 1, 255, 256, 5_000, 210_000]));
    case 6: return nestedArray(rng.pick([5, 33, 200, 3_000]));
    case 7: return rng.pick([fx.bobThreadId, fx.bobItemId, fx.bobAttachmentId]);
    case 8: return rng.pick(["thr_" + "A".repeat(22), "../../etc/passwd", "%00", "\u0000", "' OR 1=1 --", "\ud800", "🙂".repeat(50)]);
    case 9: return { __proto__: { admin: true }, constructor: { prototype: {} } };
    case 10: return rng.pick(["asc", "desc", "sideways", ""]);
    case 11: return Number.NaN;
    case 12: return "eyJ0aHJlYWQiOiJ0aHJfeCJ9"; // a cursor-looking base64 string
    case 13: return [fx.bobItemId, fx.aliceItemId];
    case 14: return { type: "input_text", text: rng.pick(["hi", 7, null]) };
    default: return rng.int(1_000_000);
  }
}

/** A plausible params object for `type`, with fields removed, retyped or added at random. */
function params(rng: Rng, type: string, fx: Fixtures): unknown {
  const threadId = rng.chance(0.5) ? fx.bobThreadId : fx.aliceThreadId;
  const base: Record<string, unknown> = {
    thread_id: threadId,
    item_id: rng.chance(0.5) ? fx.bobItemId : fx.aliceItemId,
    item_ids: [fx.bobItemId],
    input: userInput("fuzz", { attachments: rng.chance(0.3) ? [fx.bobAttachmentId] : [] }),
    title: "t",
    limit: rng.pick([1, 0, -5, 1001, 20, "20"]),
    order: rng.pick(["asc", "desc", "up"]),
    after: rng.pick([fx.bobItemId, fx.bobThreadId, "nope", null]),
    kind: rng.pick(["positive", "negative", "meh"]),
    name: "a.txt",
    size: rng.pick([1, -1, 1e15, 0.5]),
    mime_type: rng.pick(["text/plain", "", "image/svg+xml", "x/" + "y".repeat(300)]),
    attachment_id: fx.bobAttachmentId,
    audio_base64: rng.pick(["!!!", "", "AAAA", "A".repeat(10_000)]),
    result: junk(rng, fx),
    action: { type: rng.pick(["", "go", 5]), payload: junk(rng, fx) },
  };
  const keep = Object.keys(base).filter(() => rng.chance(0.7));
  const out: Record<string, unknown> = Object.fromEntries(keep.map((key) => [key, base[key]]));
  for (let i = rng.int(3); i > 0; i--) out[rng.pick(Object.keys(base))] = junk(rng, fx);
  if (rng.chance(0.2)) out[`unknown_${rng.int(100)}`] = junk(rng, fx);
  void type;
  return rng.chance(0.05) ? junk(rng, fx) : out;
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
}

const ODD_METHODS = ["PROPFIND", "TRACE", "OPTIONS", "DELETE", "PATCH", "MKCOL", "HEAD", "PUT", "GET"];
const PATHS = (fx: Fixtures) => [
  "/chatkit",
  "/chatkit/upload",
  `/chatkit/upload/${fx.bobAttachmentId}`,
  "/chatkit/upload/atc_missing",
  `/chatkit/attachments/${fx.bobAttachmentId}`,
  `/chatkit/attachments/${fx.bobAttachmentId}/preview?expires=9999999999&sig=forged`,
  "/chatkit/attachments/..%2F..%2Fchatkit.sqlite",
  "/chatkit/client_secret",
  "/login/forged-token",
  "/logout",
  `/agents/${TEST_AGENT.id}/chatkit`,
  "/agents/%00/chatkit",
  "/healthz",
  "/metrics",
  "/does/not/exist",
  "/chatkit%2F..%2F",
];

function chatkitCase(rng: Rng, fx: Fixtures): Case {
  const type = rng.chance(0.9) ? rng.pick(REQUEST_TYPES) : rng.pick(["", "threads", "threads.list ", "__proto__", "constructor", "x".repeat(300)]);
  const envelope: Record<string, unknown> = { type, params: params(rng, type, fx) };
  if (rng.chance(0.1)) envelope.metadata = junk(rng, fx);
  if (rng.chance(0.05)) envelope.type = junk(rng, fx);
  let body: Buffer | string = JSON.stringify(envelope);
  const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${fx.aliceToken}` };
  switch (rng.int(14)) {
    case 0: body = body.slice(0, rng.int(body.length)); break; // truncated JSON
    case 1: body = rng.pick(["", "null", "42", '"str"', "[]", "{", "}{", "\u0000\u0001"]); break;
    case 2: body = gzipSync(body); headers["content-encoding"] = "gzip"; break;
    case 3: body = rng.pick(BOMBS); headers["content-encoding"] = "gzip"; break;
    case 4: headers["content-encoding"] = rng.pick(["gzip", "br", "deflate", "compress", "gzip, gzip"]); break; // lies
    case 5: headers["content-type"] = rng.pick(["text/html", "multipart/form-data", "application/x-www-form-urlencoded", "application/json; charset=utf-16"]); break;
    case 6: headers.authorization = rng.pick(["Bearer", "Bearer ", "Basic YWxpY2U6cHc=", `Bearer ${fx.aliceToken}x`, `Bearer ${"t".repeat(8000)}`]); break;
    case 7: headers.cookie = rng.pick(["session_id=forged; session_id.sig=forged", "session_id=" + "a".repeat(4000), "=;=;=="]); delete headers.authorization; break;
    case 8: headers.origin = rng.pick(["null", "https://evil.example", "http://[::1", "\t"]); break;
    case 9: headers["x-request-id"] = rng.pick(["a\tb", "x".repeat(5000), "../../x", "ok-id"]); break;
    case 10: headers.authorization = `Bearer ${fx.carolToken}`; break; // a user who owns none of the ids
    default: break;
  }
  const agent = rng.chance(0.9) ? TEST_AGENT.id : rng.pick(["", "nope", "%0d%0aSet-Cookie:x=y", "a".repeat(500)]);
  return { method: "POST", path: `/chatkit?agent_id=${agent}`, headers, body };
}

function multipartCase(rng: Rng, fx: Fixtures): Case {
  const boundary = "fuzzboundary" + rng.int(1000);
  const parts = [
    `--${boundary}\r\nContent-Disposition: form-data; name="${rng.pick(["file", "other", ""])}"; filename="${rng.pick(["a.txt", "../../x", "", "a\"b.png"])}"\r\nContent-Type: ${rng.pick(["text/plain", "image/png", "", "x"])}\r\n\r\n${"data".repeat(rng.int(100))}\r\n`,
    rng.chance(0.6) ? `--${boundary}--\r\n` : "",
  ];
  let body = parts.join("");
  if (rng.chance(0.3)) body = body.slice(0, rng.int(body.length));
  const contentType = rng.pick([`multipart/form-data; boundary=${boundary}`, "multipart/form-data", `multipart/form-data; boundary=wrong`, "text/plain"]);
  const path = rng.pick(["/chatkit/upload", `/chatkit/upload/${fx.bobAttachmentId}`, "/chatkit/upload/atc_unknown"]);
  return { method: rng.pick(["POST", "PUT"]), path, headers: { "content-type": contentType, authorization: `Bearer ${fx.aliceToken}` }, body };
}

function routeCase(rng: Rng, fx: Fixtures): Case {
  const headers: Record<string, string> = rng.chance(0.7) ? { authorization: `Bearer ${fx.aliceToken}` } : {};
  if (rng.chance(0.2)) headers["x-forwarded-for"] = rng.pick(["1.2.3.4", "garbage", "::1, ::2"]);
  if (rng.chance(0.2)) headers.range = rng.pick(["bytes=0-1", "bytes=-1", "bytes=999999999-"]);
  const method = rng.pick(ODD_METHODS);
  const body = method === "GET" || method === "HEAD" || method === "TRACE" ? undefined : rng.chance(0.5) ? '{"type":"threads.list"}' : undefined;
  return { method, path: rng.pick(PATHS(fx)), headers, ...(body ? { body } : {}) };
}

function generate(rng: Rng, fx: Fixtures): Case {
  const roll = rng.next();
  if (roll < 0.65) return chatkitCase(rng, fx);
  if (roll < 0.8) return multipartCase(rng, fx);
  return routeCase(rng, fx);
}

function checkResponse(index: number, request: Case, response: RawResponse): void {
  const where = `case ${index} (FUZZ_SEED=${SEED}): ${request.method} ${request.path} → ${response.status}`;
  assert.ok(response.status < 500, `${where}\n${response.body.slice(0, 500)}`);
  assert.doesNotMatch(response.body, LEAK, `${where}: the body leaks internals\n${response.body.slice(0, 500)}`);
  const type = String(response.headers["content-type"] ?? "");
  if (response.status >= 400 && type.includes("json") && request.method !== "HEAD") {
    const parsed = JSON.parse(response.body) as { error?: unknown; request_id?: unknown };
    assert.equal(typeof parsed.error, "string", where);
    assert.equal(typeof parsed.request_id, "string", where);
  }
}

let server: TestServer;
let fx: Fixtures;
before(async () => {
  server = await startTestServer({
    upstream: { text: "fuzzed answer" },
    config: {
      agents: [TEST_AGENT],
      // Every case comes from 127.0.0.1: the failed-credential throttle would answer most of them 429.
      limits: { failedAuthPerMinute: 1_000_000, streamsPerUser: 16 },
    },
  });
  const bob = await seedThread(server, { email: "bob@example.com", count: 2 });
  const alice = await seedThread(server, { email: "alice@example.com", count: 2 });
  const bobToken = await server.token("bob@example.com");
  const bobFile = await uploadDirect(server, { name: "bob.txt", type: "text/plain", bytes: "bob's secret" }, bobToken);
  fx = {
    aliceToken: await server.token("alice@example.com"),
    carolToken: await server.token("carol@example.com"),
    bobToken,
    bobThreadId: bob.threadId,
    bobItemId: bob.items[0]!.id,
    bobAttachmentId: bobFile.body.id,
    aliceThreadId: alice.threadId,
    aliceItemId: alice.items[0]!.id,
  };
});
after(() => server.close({ removeData: true }));

function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test(`${CASES} malformed requests: no 5xx, no leaked internals, memory back, the server healthy after`, { timeout: 180_000 }, async (t) => {
  const rng = prng(SEED);
  const cases = Array.from({ length: CASES }, () => generate(rng, fx));
  const bobBefore = (await server.request("items.list", { thread_id: fx.bobThreadId }, { token: fx.bobToken })).body;
  // Warm up once so lazily built things (prepared statements, runners) are in the baseline.
  for (const request of cases.slice(0, 50)) await rawRequest(`${server.url}${request.path}`, request);
  const heapBefore = heapAfterGc();

  let next = 0;
  const statuses = new Map<number, number>();
  const worker = async () => {
    while (next < cases.length) {
      const index = next++;
      const request = cases[index]!;
      const response = await rawRequest(`${server.url}${request.path}`, { ...request, timeoutMs: 30_000 });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      try {
        checkResponse(index, request, response);
      } catch (error) {
        (error as Error).message += `\nrequest: ${JSON.stringify(request).slice(0, 1500)}\nserver log: ${server.logger.lines.slice(-3).join("\n")}`;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  const heapGrowth = heapAfterGc() - heapBefore;
  t.diagnostic(`seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, heap ${(heapGrowth / 1024 / 1024).toFixed(1)} MB`);
  assert.ok(heapGrowth < 40 * 1024 * 1024, `heap grew by ${(heapGrowth / 1024 / 1024).toFixed(1)} MB`);
  assert.ok([...statuses.keys()].filter((status) => status >= 400).length >= 6, `a variety of refusals: ${JSON.stringify([...statuses])}`);
  assert.deepEqual(server.logger.lines.filter((line) => !/storage failure/.test(line)), [], "nothing unexpected was logged as an error");

  // Healthy after, a normal request works, and the other user's thread was never touched.
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const normal = await server.stream("threads.create", { input: userInput("still here?") }, { token: fx.aliceToken });
  assert.equal(normal.events.at(-1)!.item.content[0].text, "fuzzed answer");
  const bobAfter = (await server.request("items.list", { thread_id: fx.bobThreadId }, { token: fx.bobToken })).body;
  assert.deepEqual(bobAfter, bobBefore);
  const bobFile = await fetch(`${server.url}/chatkit/attachments/${fx.bobAttachmentId}`, { headers: { authorization: `Bearer ${fx.bobToken}` } });
  assert.equal(await bobFile.text(), "bob's secret");
});
