import assert from "node:assert/strict";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { tempDataDir } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { cleanEnv, REPO_ROOT, run, SERVER_ARGS, startServerProcess } from "./support/process.ts";
import { readSse } from "./support/sse.ts";

/** A config in a folder of its own, importing our package entry by a relative path, as a user's would. */
function writeConfig(dir: string, body: string): string {
  const entry = path.relative(dir, path.join(REPO_ROOT, "src/index.ts")).split(path.sep).join("/");
  const file = path.join(dir, "box.config.ts");
  writeFileSync(file, body.replaceAll("PACKAGE", JSON.stringify(entry)));
  return file;
}

describe("the compiled server and commands (what npm start and npm run <command> run)", () => {
  test("load a TypeScript config from another folder; its tools and errors are the server's own", async () => {
    const dir = tempDataDir();
    mkdirSync(path.join(dir, "lib"));
    writeFileSync(
      path.join(dir, "lib/greeting.ts"),
      `import path from "node:path";\nexport const greeting = (where: string): string => \`hello from \${path.basename(where)}\`;\n`,
    );
    const file = writeConfig(
      dir,
      `import { ChatkitError, defineAction, defineConfig } from PACKAGE;
import { greeting } from "./lib/greeting.ts";

export default defineConfig({
  dataDir: "./data",
  agents: [{
    id: "assistant", name: "Assistant", model: "m",
    actions: {
      "box.greet": defineAction({ handler: (_action, ctx) => ctx.say(greeting(import.meta.filename)) }),
      "box.refuse": defineAction({ handler: () => { throw new ChatkitError(409, "box_refused"); } }),
    },
  }],
});
`,
    );
    const env = { CHATKIT_CONFIG: file };
    const server = await startServerProcess(env);
    try {
      const session = await run("npm", ["run", "--silent", "session", "--", "box@example.com"], { env: cleanEnv(env) });
      assert.equal(session.code, 0, session.stderr);
      const token = session.stdout.trim().split("\n").at(-1)!;
      const request = (type: string, params: object) =>
        fetch(`${server.url}/chatkit?agent_id=assistant`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ type, params }),
        });
      let threadId = "";
      for await (const event of readSse(await request("threads.create", { input: userInput("hi") }))) {
        if (event.type === "thread.created") threadId = event.thread.id;
      }
      assert.ok(threadId, "the thread was created");

      const greeted = await request("threads.sync_custom_action", { thread_id: threadId, action: { type: "box.greet" } });
      assert.equal(greeted.status, 200, await greeted.clone().text());
      const items = (await (await request("items.list", { thread_id: threadId, order: "asc" })).json()) as { data: any[] };
      assert.equal(items.data.at(-1).content[0].text, "hello from box.config.ts", "import.meta in the config is the config's own file");

      // Thrown with the config's ChatkitError: answered as that error only if it is the server's class.
      const refused = await request("threads.sync_custom_action", { thread_id: threadId, action: { type: "box.refuse" } });
      assert.equal(refused.status, 409);
      assert.equal(((await refused.json()) as { error: string }).error, "box_refused");
      assert.match(server.output(), /data dir: .*data\b/, "dataDir from the file is resolved beside it");
    } finally {
      server.child.kill("SIGKILL");
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a config that does not compile stops them with its file, line and column, and no stack trace", async () => {
    const dir = tempDataDir();
    const file = writeConfig(dir, `import { defineConfig } from PACKAGE;\nexport default defineConfig({ agents: [{ id: "a" name: "A" }] });\n`);
    const env = cleanEnv({ CHATKIT_CONFIG: file, CHATKIT_DATA_DIR: dir, PORT: "0" });
    const [server, check] = await Promise.all([run(process.execPath, SERVER_ARGS, { env }), run("npm", ["run", "--silent", "check"], { env })]);
    for (const result of [server, check]) {
      assert.equal(result.code, 1);
      assert.match(result.stderr, /box\.config\.ts:2:50: .*Expected "}" but found "name"/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    }

    // A deep import would be a second copy of our modules: refused, saying what to import instead.
    writeFileSync(file, `import { widget } from ${JSON.stringify(path.join(REPO_ROOT, "src/widgets/builder.ts"))};\nexport default { agents: [], card: widget.Card({ children: [] }) };\n`);
    const deep = await run(process.execPath, SERVER_ARGS, { env });
    assert.equal(deep.code, 1);
    assert.match(deep.stderr, /box\.config\.ts:1:\d+: .*import our package from its entry \(".*src\/index\.ts"\)/);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a source newer than the build is rebuilt before the next command runs; a current build is not", async () => {
    const dataDir = tempDataDir();
    const env = cleanEnv({ CHATKIT_DATA_DIR: dataDir });
    const now = new Date();
    utimesSync(path.join(REPO_ROOT, "src/index.ts"), now, now);
    const rebuilt = await run("npm", ["run", "--silent", "users", "--", "list"], { env });
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /server and commands: \d+ files/);
    const current = await run("npm", ["run", "--silent", "users", "--", "list"], { env });
    assert.equal(current.code, 0, current.stderr);
    assert.doesNotMatch(current.stderr, /server and commands/);
    assert.equal(current.stdout, rebuilt.stdout, "the build's messages stay off stdout");
    rmSync(dataDir, { recursive: true, force: true });
  });
});
