import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import type { FakeOpenAI } from "./support/fake-openai.ts";
import { fetchBytes, pngBytes, uploadDirect } from "./support/uploads.ts";

for (const api of ["responses", "chat_completions"] as const) {
  describe(`attachments sent with a message (${api})`, () => {
    let fake: FakeOpenAI;
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ upstream: { text: "I see a picture and a note." }, config: { agents: [{ ...TEST_AGENT, api }] } });
      fake = server.fake;
    });
    after(() => server.close({ removeData: true }));

    test("appear in the user message with a preview URL and reach the model as image and text input", async () => {
      const image = pngBytes(512);
      const png = await uploadDirect(server, { name: "cat.png", type: "image/png", bytes: image });
      const note = await uploadDirect(server, { name: "note.txt", type: "text/plain", bytes: "remember the milk" });
      assert.equal(png.status, 200);
      assert.equal(note.status, 200);

      const { events } = await server.stream("threads.create", { input: userInput("What is this?", { attachments: [png.body.id, note.body.id] }) });
      const user = events.find((e) => e.type === "thread.item.done" && e.item.type === "user_message")!.item;
      const threadId = events[0]!.thread.id;
      assert.deepEqual(
        user.attachments.map((a: any) => [a.type, a.id, a.name, a.thread_id]),
        [["image", png.body.id, "cat.png", threadId], ["file", note.body.id, "note.txt", threadId]],
      );
      assert.ok(!("upload_descriptor" in user.attachments[0]));

      const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
      const preview = await fetchBytes(listed[0].attachments[0].preview_url);
      assert.equal(preview.status, 200);
      assert.deepEqual(preview.bytes, image, "the preview serves the uploaded bytes");
      assert.equal(preview.headers.get("cross-origin-resource-policy"), "cross-origin", "ChatKit's frame may load it");
      assert.equal(preview.headers.get("x-content-type-options"), "nosniff");
      assert.deepEqual(foldEvents(events).items.map((i) => i.id), listed.map((i: any) => i.id));

      const body = fake.requests.at(-1)!.body;
      const content = api === "responses" ? body.input[0].content : body.messages[1].content;
      const dataUrl = `data:image/png;base64,${image.toString("base64")}`;
      if (api === "responses") {
        assert.deepEqual(content[0], { type: "input_text", text: "What is this?" });
        assert.ok(content.some((part: any) => part.type === "input_image" && part.image_url === dataUrl));
        assert.ok(content.some((part: any) => part.type === "input_text" && part.text.includes("remember the milk")));
      } else {
        assert.deepEqual(content[0], { type: "text", text: "What is this?" });
        assert.ok(content.some((part: any) => part.type === "image_url" && part.image_url.url === dataUrl));
        assert.ok(content.some((part: any) => part.type === "text" && part.text.includes("remember the milk")));
      }
    });

    test("another user's attachment, or an unknown one, is refused before anything is stored", async () => {
      const theirs = await uploadDirect(server, { name: "x.txt", type: "text/plain", bytes: "secret" }, await server.token("mallory@example.com"));
      for (const id of [theirs.body.id, "atc_unknown"]) {
        const before = (await server.request("threads.list", { limit: 100 })).body.data.length;
        const refused = await server.request("threads.create", { input: userInput("steal", { attachments: [id] }) });
        assert.equal(refused.status, 404);
        assert.equal(refused.body.error, "attachment_not_found");
        assert.equal((await server.request("threads.list", { limit: 100 })).body.data.length, before);
      }
    });
  });
}
