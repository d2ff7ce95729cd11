import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";

/**
 * A client on a raw socket that sends a request's headers and the first bytes of a body that
 * declares itself far larger, then sends nothing more unless told to: what a slow or stalled
 * client looks like to the server.
 */
interface RawClient {
  socket: Socket;
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>;
  /** The status of the first response, as soon as it arrives. */
  status: Promise<number>;
}

function rawClient(url: string, path: string, headers: Record<string, string>, first: string): RawClient {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = "";
  let onStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (onStatus = resolve));
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
    const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
    if (match) onStatus(Number(match[1]));
  });
  socket.on("error", () => undefined);
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
  const head = Object.entries({ host: `${hostname}:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n${first}`);
  return { socket, closed, status };
}

// Each test waits for the server to close the connection; left open (the bug), it would wait out
// the request timeout, so the test's own timeout fails it instead of a timing assertion.
const CLOSES = { timeout: 20_000 };

describe("bounds on request bodies", () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer({
      config: {
        limits: { jsonBodyBytes: 4096, bodyMinBytesPerSecond: 2000, bodyRateWindowMs: 200 },
        // An upstream that is never called: transcription counts as available.
        openai: { apiKey: "sk-never-used", baseURL: "http://127.0.0.1:9/v1" },
      },
    });
    token = await server.token();
  });
  after(() => server.close({ removeData: true }));

  for (const path of ["/chatkit?agent_id=assistant", "/chatkit/upload"]) {
    test(`a wrong token's slow body on ${path.split("?")[0]} is answered 401 and its connection closed, not drained`, CLOSES, async () => {
      const client = rawClient(server.url, path, { authorization: "Bearer wrong-token", "content-type": "application/json", "content-length": "1000000" }, "{");
      // A byte now and then, as a slow client would send.
      const drip = setInterval(() => client.socket.writable && client.socket.write(" "), 20);
      try {
        assert.equal(await client.status, 401);
        const received = await client.closed;
        assert.match(received, /connection: close/i);
      } finally {
        clearInterval(drip);
      }
    });
  }

  test("a signed-in body slower than the minimum rate has its connection closed", CLOSES, async () => {
    const client = rawClient(server.url, "/chatkit?agent_id=assistant", { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": "100000" }, '{"type":"threads.list","params":{');
    const drip = setInterval(() => client.socket.writable && client.socket.write(" "), 50);
    try {
      const received = await client.closed;
      assert.equal(received, "", "no answer: the connection was cut");
    } finally {
      clearInterval(drip);
    }
  });

  test("a body sent at a normal pace is not affected by the minimum rate", async () => {
    const listed = await server.request("threads.list", { limit: 5 }, { token });
    assert.equal(listed.status, 200);
  });

  const transcription = (agent: string, prefix: string) =>
    rawClient(server.url, `/chatkit?agent_id=${agent}`, { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": String(30 * 1024 * 1024) }, prefix);

  test("a large input.transcribe whose mime_type comes first and is not audio is refused before its 30 MB are read", CLOSES, async () => {
    const client = transcription(TEST_AGENT.id, `{"type":"input.transcribe","params":{"mime_type":"text/html","audio_base64":"${"A".repeat(8000)}`);
    assert.equal(await client.status, 415);
    assert.match(await client.closed, /unsupported_file_type/);
  });

  test("a large input.transcribe whose audio is not base64 is refused at the first bad character", CLOSES, async () => {
    const client = transcription(TEST_AGENT.id, `{"type":"input.transcribe","params":{"audio_base64":"${"A".repeat(8000)}<html>`);
    assert.equal(await client.status, 400);
    assert.match(await client.closed, /params\.audio_base64/);
  });

  test("a large input.transcribe for an unknown agent is refused before its audio is read", CLOSES, async () => {
    const client = transcription("no-such-agent", `{"type":"input.transcribe","params":{"audio_base64":"${"A".repeat(8000)}`);
    assert.equal(await client.status, 422);
    assert.match(await client.closed, /agent_required/);
  });

  test("input.transcribe audio past the upload limit is 413, counted as it arrives", async () => {
    const small = await startTestServer({ config: { limits: { jsonBodyBytes: 4096 }, chatkit: { uploadMaxBytes: 10_000 }, openai: { apiKey: "sk-never-used", baseURL: "http://127.0.0.1:9/v1" } } });
    try {
      const body = JSON.stringify({ type: "input.transcribe", params: { audio_base64: Buffer.alloc(20_000, 7).toString("base64"), mime_type: "audio/webm" } });
      const response = await fetch(`${small.url}/chatkit?agent_id=${TEST_AGENT.id}`, { method: "POST", headers: { authorization: `Bearer ${await small.token()}`, "content-type": "application/json" }, body });
      assert.equal(response.status, 413);
    } finally {
      await small.close({ removeData: true });
    }
  });

  test("a large input.transcribe with no upstream to ask is refused before its audio is read", CLOSES, async () => {
    const local = await startTestServer({ config: { limits: { jsonBodyBytes: 4096 } } });
    try {
      const localToken = await local.token();
      const client = rawClient(local.url, `/chatkit?agent_id=${TEST_AGENT.id}`, { authorization: `Bearer ${localToken}`, "content-type": "application/json", "content-length": String(30 * 1024 * 1024) }, `{"type":"input.transcribe","params":{"audio_base64":"${"A".repeat(8000)}`);
      assert.equal(await client.status, 422);
      assert.match(await client.closed, /transcription_unavailable/);
    } finally {
      await local.close({ removeData: true });
    }
  });
});
