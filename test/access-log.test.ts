import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLogLine } from "../src/core/logger.ts";
import { startTestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";

test("the access log has one line per request with its ChatKit type, and never a secret", async () => {
  const server = await startTestServer();
  try {
    await server.request("threads.list", {});
    await server.stream("threads.create", { input: userInput("hello") });
    await fetch(`${server.url}/login/secret-one-time-token`);
    await fetch(`${server.url}/chatkit/attachments/atc_x/preview?expires=1&sig=signature-value`);
    await fetch(`${server.url}/healthz`);
    for (let i = 0; i < 50 && server.logger.infoLines.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const lines = server.logger.infoLines;
    assert.match(lines[0]!, /^POST \/chatkit threads\.list 200 \d+\.\dms$/);
    assert.match(lines[1]!, /^POST \/chatkit threads\.create 200 \d+\.\dms$/, "a stream is logged when it ends");
    assert.ok(lines.some((line) => /^GET \/login\/… \d{3} /.test(line)), lines.join("\n"));
    assert.ok(lines.some((line) => /^GET \/chatkit\/attachments\/atc_x\/preview 404 /.test(line)));
    assert.doesNotMatch(lines.join("\n"), /secret-one-time-token|signature-value|Bearer/);
  } finally {
    await server.close({ removeData: true });
  }
});

test("a stream the client leaves mid-answer is logged too, when the server is done with it", async () => {
  const server = await startTestServer();
  try {
    const leaving = new AbortController();
    const response = await fetch(`${server.url}/chatkit?agent_id=${server.config.agents[0]!.id}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}`, "x-request-id": "leaves-early" },
      body: JSON.stringify({ type: "threads.create", params: { input: userInput("hello") } }),
      signal: leaving.signal,
    });
    await response.body!.getReader().read();
    leaving.abort();
    for (let i = 0; i < 300 && !server.logger.jsonLines.some((line) => line.includes("leaves-early")); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const line = server.logger.jsonLines.find((json) => json.includes("leaves-early"));
    assert.ok(line, server.logger.jsonLines.join("\n"));
    assert.match((JSON.parse(line) as { msg: string }).msg, /^POST \/chatkit threads\.create 200 /);
  } finally {
    await server.close({ removeData: true });
  }
});

test("accessLog: false keeps the log quiet", async () => {
  const server = await startTestServer({ config: { server: { accessLog: false } } });
  try {
    await server.request("threads.list", {});
    assert.deepEqual(server.logger.infoLines, []);
  } finally {
    await server.close({ removeData: true });
  }
});

test("an event's fields: key=value in text (quoted when they hold spaces, quotes or '='), JSON keys in json", () => {
  const fields = { event: "sign_in_failed", reason: "claim_aud", user: "a b@example.com", note: 'say "hi"', n: 2, ok: false, gone: null };
  assert.equal(
    formatLogLine("text", "info", "auth sign_in_failed", undefined, "req-1", fields),
    '[req-1] auth sign_in_failed event=sign_in_failed reason=claim_aud user="a b@example.com" note="say \\"hi\\"" n=2 ok=false gone=null',
  );
  const json = JSON.parse(formatLogLine("json", "info", "auth sign_in_failed", undefined, "req-1", fields));
  assert.deepEqual({ ...json, time: undefined }, { time: undefined, level: "info", request_id: "req-1", msg: "auth sign_in_failed", ...fields });
});
