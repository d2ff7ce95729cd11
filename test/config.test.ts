import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, parseConfig } from "../src/config/load.ts";
import { DEFAULT_SCRIPT_URL } from "../src/config/schema.ts";
import { defineAction, defineTool, localModelAgent, z } from "../src/index.ts";
import { tempDataDir, TEST_AGENT } from "./support/app.ts";
import { cleanEnv, REPO_ROOT, run, SERVER_ARGS } from "./support/process.ts";

function problemsOf(input: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(input, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail("expected the config to be refused");
}

describe("config", () => {
  test("defaults mirror the seed's ChatkitConfig and the operator contract", () => {
    const config = parseConfig({ agents: [TEST_AGENT] });
    assert.equal(config.server.host, "127.0.0.1");
    assert.equal(config.server.port, 8787);
    assert.equal(config.dataDir, "./data");
    assert.deepEqual(config.chatkit, {
      apiUrl: "/chatkit",
      domainKey: "local-dev",
      scriptUrl: DEFAULT_SCRIPT_URL,
      uploadMaxBytes: 25 * 1024 * 1024,
      allowedMimeTypes: [],
      unsentAttachmentTtlHours: 24,
    });
    assert.equal(config.openai.transcriptionModel, "gpt-4o-mini-transcribe");
    assert.equal(config.agents[0]!.api, "responses");
  });

  test("the seed's environment variables override the file", () => {
    const config = parseConfig(
      { agents: [TEST_AGENT], chatkit: { domainKey: "from-file", uploadMaxBytes: 5 } },
      {
        CHATKIT_API_URL: "https://api.example.com/chatkit",
        CHATKIT_PK: "dk_pk",
        CHATKIT_DOMAIN_KEY: "dk_ignored_when_pk_set",
        CHATKIT_CLIENT_SECRET: "cs_123",
        CHATKIT_SCRIPT_URL: "https://cdn.example.com/chatkit.js",
        CHATKIT_UPLOAD_MAX_BYTES: "1000",
        CHATKIT_ALLOWED_MIME_TYPES: " image/png, application/pdf ,,",
        PORT: "9000",
        HOST: "0.0.0.0",
        CHATKIT_DATA_DIR: "/srv/chat",
        OPENAI_API_KEY: "sk-test",
        OPENAI_BASE_URL: "http://127.0.0.1:1/v1",
      },
    );
    assert.deepEqual(config.chatkit, {
      apiUrl: "https://api.example.com/chatkit",
      domainKey: "dk_pk",
      clientSecret: "cs_123",
      scriptUrl: "https://cdn.example.com/chatkit.js",
      uploadMaxBytes: 1000,
      allowedMimeTypes: ["image/png", "application/pdf"],
      unsentAttachmentTtlHours: 24,
    });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.host, "0.0.0.0");
    assert.equal(config.dataDir, "/srv/chat");
    assert.equal(config.openai.apiKey, "sk-test");
    assert.equal(config.openai.baseURL, "http://127.0.0.1:1/v1");
    assert.equal(parseConfig({ agents: [TEST_AGENT] }, { CHATKIT_DOMAIN_KEY: "dk_alt" }).chatkit.domainKey, "dk_alt");
  });

  test("CHATKIT_MODEL and CHATKIT_API set the default (first) agent's model and API flavour, and nothing else", () => {
    const tool = defineTool({ name: "t", description: "d", parameters: z.object({}), handler: () => "ok" });
    const second = { ...TEST_AGENT, id: "second" };
    const input = { agents: [{ ...TEST_AGENT, tools: [tool] }, second] };
    const config = parseConfig(input, { CHATKIT_MODEL: "llama3.2", CHATKIT_API: "chat_completions" });
    assert.equal(config.agents[0]!.model, "llama3.2");
    assert.equal(config.agents[0]!.api, "chat_completions");
    assert.equal(config.agents[0]!.tools[0], tool, "the agent's functions stay as written");
    assert.equal(config.agents[1]!.model, TEST_AGENT.model);
    assert.equal(config.agents[1]!.api, "responses");
    assert.equal(input.agents[0]!.model, TEST_AGENT.model, "the file's object is not changed");
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_API: "completions" }), [
      'agents[0].api (from CHATKIT_API): Invalid option: expected one of "responses"|"chat_completions"',
    ]);
    assert.deepEqual(problemsOf({ agents: [] }, { CHATKIT_MODEL: "llama3.2" }), ["agents: define at least one agent"]);
  });

  test("localModelAgent presets an agent for a local server: Chat Completions, its default address, text only", () => {
    const config = parseConfig({
      agents: [
        localModelAgent({ id: "llama", name: "Llama", model: "llama3.2" }),
        localModelAgent({ id: "qwen", name: "Qwen", model: "Qwen/Qwen2.5-VL-7B-Instruct", server: "vllm", vision: true }),
        localModelAgent({ id: "mine", name: "Mine", model: "m", baseURL: "http://gpu.internal:9000/v1" }),
      ],
    });
    const [llama, qwen, mine] = config.agents;
    assert.deepEqual([llama!.api, llama!.baseURL, llama!.vision], ["chat_completions", "http://127.0.0.1:11434/v1", false]);
    assert.deepEqual([qwen!.api, qwen!.baseURL, qwen!.vision], ["chat_completions", "http://127.0.0.1:8000/v1", true]);
    assert.equal(mine!.baseURL, "http://gpu.internal:9000/v1");
  });

  test("a bad config names every bad key by its path", () => {
    const problems = problemsOf({
      agents: [{ id: "ok", name: "Ok", model: 42 }, { id: "bad id!", name: "" }],
      server: { port: "eighty" },
      chatkit: { scriptUrl: "not a url" },
      surprise: true,
    });
    const text = problems.join("\n");
    assert.match(text, /^agents\[0\]\.model: .*expected string/m);
    assert.match(text, /^agents\[1\]\.id: /m);
    assert.match(text, /^agents\[1\]\.name: /m);
    assert.match(text, /^agents\[1\]\.model: /m);
    assert.match(text, /^server\.port: /m);
    assert.match(text, /^chatkit\.scriptUrl: /m);
    assert.match(text, /surprise/);
  });

  test("a bad environment value is blamed on its variable", () => {
    const [problem] = problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_UPLOAD_MAX_BYTES: "lots" });
    assert.match(problem!, /^chatkit\.uploadMaxBytes \(from CHATKIT_UPLOAD_MAX_BYTES\): /);
  });

  test("a database URL and cookie keys come from the file or the environment; storage defaults to the data dir", () => {
    const plain = parseConfig({ agents: [TEST_AGENT] });
    assert.deepEqual(plain.database, { poolSize: 10 });
    assert.deepEqual(plain.storage, { type: "dataDir" });
    const config = parseConfig(
      { agents: [TEST_AGENT], database: { url: "postgres://file@db/x", poolSize: 3 }, cookieKeys: ["from-the-file-0123456789"] },
      { CHATKIT_DATABASE_URL: "postgresql://env@db:5432/chatkit", CHATKIT_COOKIE_KEYS: " newest-key-0123456789 , older-key-0123456789," },
    );
    assert.deepEqual(config.database, { url: "postgresql://env@db:5432/chatkit", poolSize: 3 });
    assert.deepEqual(config.cookieKeys, ["newest-key-0123456789", "older-key-0123456789"]);
    const s3 = parseConfig({ agents: [TEST_AGENT], storage: { type: "s3", bucket: "b" } }).storage;
    assert.deepEqual(s3, { type: "s3", bucket: "b", region: "us-east-1", prefix: "attachments/", forcePathStyle: false });
  });

  test("a database URL that is not PostgreSQL, short cookie keys and half S3 credentials are refused by name", () => {
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_DATABASE_URL: "mysql://db/x" }), [
      "database.url (from CHATKIT_DATABASE_URL): a postgres:// URL (leave it out to keep SQLite in the data dir)",
    ]);
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_COOKIE_KEYS: "short" }), [
      "cookieKeys[0] (from CHATKIT_COOKIE_KEYS): use at least 16 characters",
    ]);
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT], storage: { type: "s3", bucket: "b", accessKeyId: "AKIA" } }), [
      "storage.secretAccessKey: give both accessKeyId and secretAccessKey, or neither (to use the AWS environment)",
    ]);
  });

  test("agents must exist and have unique ids", () => {
    assert.match(problemsOf({ agents: [] }).join(), /agents: define at least one agent/);
    assert.match(problemsOf({ agents: [TEST_AGENT, TEST_AGENT] }).join(), /agents\[1\]\.id: duplicate agent id "assistant"/);
  });

  test("tools and actions keep their functions and schemas through env overrides and validation", () => {
    const tool = defineTool({ name: "lookup", description: "Looks up", parameters: z.object({ id: z.string() }), handler: ({ id }) => id });
    const act = defineAction({ handler: () => {} });
    const config = parseConfig({ agents: [{ ...TEST_AGENT, tools: [tool], actions: { "order.cancel": act } }] }, { PORT: "9000", OPENAI_API_KEY: "k" });
    assert.equal(config.server.port, 9000);
    assert.equal(config.agents[0]!.tools[0], tool, "the very same tool object");
    assert.equal(config.agents[0]!.actions["order.cancel"], act);
    assert.equal(config.agents[0]!.maxToolRounds, 8);
  });

  test("a bad tool or action names its key", () => {
    const text = problemsOf({
      agents: [
        {
          ...TEST_AGENT,
          tools: [
            { name: "bad name!", description: "", parameters: { type: "object" }, handler: "not a function" },
            { name: "twice", description: "d", parameters: z.object({}) },
            { name: "twice", description: "d", parameters: z.object({}), extra: 1 },
          ],
          actions: { go: { handler: 42 } },
        },
      ],
    }).join("\n");
    assert.match(text, /^agents\[0\]\.tools\[0\]\.name: /m);
    assert.match(text, /^agents\[0\]\.tools\[0\]\.description: /m);
    assert.match(text, /^agents\[0\]\.tools\[0\]\.parameters: must be a zod schema/m);
    assert.match(text, /^agents\[0\]\.tools\[0\]\.handler: must be a function/m);
    assert.match(text, /^agents\[0\]\.tools\[2\].*extra/m);
    assert.match(text, /^agents\[0\]\.actions\.go\.handler: must be a function/m);
  });

  test("loadConfig reads CHATKIT_CONFIG and resolves dataDir beside the file", async () => {
    const dir = tempDataDir();
    const file = path.join(dir, "box.config.ts");
    writeFileSync(
      file,
      `import { defineConfig } from ${JSON.stringify(path.join(REPO_ROOT, "src/index.ts"))};\n` +
        `export default defineConfig({ dataDir: "state", agents: [{ id: "a", name: "A", model: "m" }] });\n`,
    );
    const config = await loadConfig({ CHATKIT_CONFIG: file }, "/");
    assert.equal(config.dataDir, path.join(dir, "state"));
    const fromEnv = await loadConfig({ CHATKIT_CONFIG: file, CHATKIT_DATA_DIR: "rel" }, "/tmp");
    assert.equal(fromEnv.dataDir, "/tmp/rel");
    await assert.rejects(loadConfig({ CHATKIT_CONFIG: path.join(dir, "missing.ts") }), /config file not found/);
  });

  test("the shipped chatkit.config.ts is valid and defines the assistant agent", async () => {
    const config = await loadConfig(cleanEnv({}) as Record<string, string>, REPO_ROOT);
    assert.ok(config.agents.some((agent) => agent.id === "assistant"));
  });

  test("npm start with a bad config stops with one line per problem and no stack trace", async () => {
    const dir = tempDataDir();
    const file = path.join(dir, "bad.config.ts");
    writeFileSync(file, `export default { agents: [{ id: "a", name: "A" }], server: { port: -1 } };\n`);
    const result = await run(process.execPath, SERVER_ARGS, { env: cleanEnv({ CHATKIT_CONFIG: file }) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /agents\[0\]\.model: /);
    assert.match(result.stderr, /server\.port: /);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  });

  test("sign-in by mail: the SMTP URL and sender from the environment, allow-list entries lower-cased, a sender required", () => {
    const config = parseConfig(
      { agents: [TEST_AGENT], signIn: { email: { allow: [" Ann@Example.com", "@Team.example"] } } },
      { CHATKIT_SMTP_URL: "smtp://127.0.0.1:2525", CHATKIT_MAIL_FROM: "Chat <chat@example.com>" },
    );
    assert.equal(config.signIn.email.smtpUrl, "smtp://127.0.0.1:2525");
    assert.equal(config.signIn.email.from, "Chat <chat@example.com>");
    assert.deepEqual(config.signIn.email.allow, ["ann@example.com", "@team.example"]);
    assert.equal(parseConfig({ agents: [TEST_AGENT] }).signIn.email.smtpUrl, undefined, "no SMTP by default: sign-in by invitation");
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_SMTP_URL: "smtp://127.0.0.1:2525" }), [
      "signIn.email.from: set `from` (or CHATKIT_MAIL_FROM): mails need a sender",
    ]);
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT], signIn: { email: { allow: ["ann@example.com\r\nBcc: x@y.z", "example.com"] } } }), [
      "signIn.email.allow[0]: an address (ann@example.com) or a domain (@example.com)",
      "signIn.email.allow[1]: an address (ann@example.com) or a domain (@example.com)",
    ]);
    assert.deepEqual(problemsOf({ agents: [TEST_AGENT] }, { CHATKIT_SMTP_URL: "http://mail", CHATKIT_MAIL_FROM: "a@b.c" }), [
      "signIn.email.smtpUrl (from CHATKIT_SMTP_URL): an smtp:// or smtps:// URL",
    ]);
  });

  test("OpenID Connect providers: https issuers (http on loopback only), an allow-list, unique ids", () => {
    const provider = { id: "corp", name: "Corp", issuer: "https://id.example.com", clientId: "box", allow: ["@example.com"] };
    const config = parseConfig({ agents: [TEST_AGENT], signIn: { oidc: [provider, { ...provider, id: "local", issuer: "http://127.0.0.1:9000/", allow: ["*"] }] } });
    assert.deepEqual(config.signIn.oidc[0]!.scopes, ["openid", "email", "profile"]);
    assert.deepEqual(config.signIn.oidc[1]!.allow, ["*"]);
    assert.deepEqual(
      problemsOf({
        agents: [TEST_AGENT],
        signIn: { oidc: [{ ...provider, issuer: "http://id.example.com" }, { ...provider, allow: [] }, { ...provider, id: "bad/id" }] },
      }),
      [
        "signIn.oidc[0].issuer: https (http only on a loopback host)",
        "signIn.oidc[1].allow: list who may sign in: addresses, @domains, or \"*\" for everyone the provider vouches for",
        "signIn.oidc[2].id: letters, digits, '-' and '_' only (at most 32)",
        "signIn.oidc[1].id: duplicate provider id \"corp\"",
      ],
    );
  });
});

test("pages.ui: auto by default, CHATKIT_UI overrides it, and builtin is refused in hosted mode", () => {
  assert.equal(parseConfig({ agents: [TEST_AGENT] }).pages.ui, "auto");
  assert.equal(parseConfig({ agents: [TEST_AGENT] }, { CHATKIT_UI: "builtin" }).pages.ui, "builtin");
  assert.throws(
    () => parseConfig({ agents: [TEST_AGENT], pages: { ui: "builtin" }, chatkit: { clientSecret: "cs_1" } }),
    (error: unknown) => error instanceof ConfigError && /pages\.ui: the built-in client talks to this server/.test(error.message),
  );
  assert.throws(() => parseConfig({ agents: [TEST_AGENT], pages: { ui: "web" as never } }), ConfigError);
});
