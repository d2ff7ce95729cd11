import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";

describe("errors on the entry route", () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    token = await server.token();
  });
  after(() => server.close({ removeData: true }));

  async function raw(body: string, contentType = "application/json") {
    const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
      method: "POST",
      headers: { "content-type": contentType, authorization: `Bearer ${token}` },
      body,
    });
    return { status: response.status, body: (await response.json()) as any, type: response.headers.get("content-type") };
  }

  test("broken JSON answers 400 invalid_json", async () => {
    for (const body of ['{"type":', "{'type':'threads.list'}", '"just a string"', "nul"]) {
      const result = await raw(body);
      assert.equal(result.status, 400, body);
      assert.equal(result.body.error, "invalid_json", body);
      assert.match(result.body.message, /JSON/);
    }
  });

  test("params failing the schema answer 400 naming the field", async () => {
    const result = await server.request("threads.list", { limit: "ten" });
    assert.equal(result.status, 400);
    assert.equal(result.body.error, "invalid_params");
    assert.equal(result.body.field, "params.limit");
    const nested = await server.request("threads.update", { thread_id: "thr_x" });
    assert.equal(nested.body.field, "params.title");
    const missingType = await raw(JSON.stringify({ params: {} }));
    assert.equal(missingType.status, 400);
    assert.equal(missingType.body.field, "type");
  });

  test("an unknown type answers 422 unsupported_request", async () => {
    const result = await server.request("threads.explode", {});
    assert.equal(result.status, 422);
    assert.equal(result.body.error, "unsupported_request");
  });

  test("a body that is not JSON by type answers 415", async () => {
    const result = await raw("<xml/>", "application/xml");
    assert.equal(result.status, 415);
    assert.equal(result.body.error, "unsupported_content_type");
  });

  test("JSON sent as text/plain is accepted", async () => {
    const result = await raw(JSON.stringify({ type: "threads.list", params: {} }), "text/plain");
    assert.equal(result.status, 200);
  });

  test("no malformed request yields a 500 or a stack trace", async () => {
    const bodies = [
      "{}",
      "[]",
      "null",
      "0",
      '{"type":null}',
      '{"type":"threads.get_by_id","params":null}',
      '{"type":"threads.get_by_id","params":[]}',
      '{"type":"threads.get_by_id","params":{"thread_id":{"$ne":1}}}',
      '{"type":"items.list","params":{"thread_id":"x","limit":-1}}',
      '{"type":"items.list","params":{"thread_id":"x","limit":1e9}}',
      '{"type":"items.list","params":{"thread_id":"x","order":"sideways"}}',
      '{"type":"__proto__","params":{}}',
      '{"type":"constructor","params":{}}',
      '{"type":"threads.update","params":{"thread_id":"x","title":' + JSON.stringify("t".repeat(600)) + "}}",
      '{"type":"items.feedback","params":{"thread_id":"x","item_ids":[],"kind":"positive"}}',
      "\u0000\u0001",
    ];
    for (const body of bodies) {
      const result = await raw(body);
      assert.ok(result.status >= 400 && result.status < 500, `${body} -> ${result.status}`);
      assert.equal(typeof result.body.error, "string");
      assert.doesNotMatch(JSON.stringify(result.body), /at .*\.ts:\d+/);
    }
    assert.deepEqual(server.logger.lines, [], "nothing unexpected was logged");
    const injection = await raw('{"type":"threads.list","params":{"after":"\' OR 1=1 --"}}');
    assert.deepEqual(injection.body, { data: [], has_more: false }, "a hostile cursor is just an unknown id");
  });

  test("a body over the JSON limit answers 413", async () => {
    const small = await startTestServer({ config: { chatkit: { uploadMaxBytes: 1 } } });
    try {
      const response = await fetch(`${small.url}/chatkit?agent_id=assistant`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await small.token()}` },
        body: JSON.stringify({ type: "threads.list", params: {}, metadata: { pad: "x".repeat(2 * 1024 * 1024) } }),
      });
      assert.equal(response.status, 413);
      assert.equal(((await response.json()) as any).error, "payload_too_large");
    } finally {
      await small.close({ removeData: true });
    }
  });

  test("unknown routes and methods answer JSON 404 and 405", async () => {
    const missing = await fetch(`${server.url}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error, "not_found");
    const wrongMethod = await fetch(`${server.url}/chatkit`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as any).error, "method_not_allowed");
  });

  test("GET /healthz answers ok", async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
  });
});
