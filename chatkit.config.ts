// The box's configuration. Every key is optional but `agents`; the comments show the defaults.
// Environment variables still win over this file: PORT, HOST, CHATKIT_DATA_DIR, CHATKIT_DATABASE_URL,
// CHATKIT_COOKIE_KEYS, CHATKIT_API_URL,
// CHATKIT_PK / CHATKIT_DOMAIN_KEY, CHATKIT_CLIENT_SECRET, CHATKIT_WORKFLOW_ID, CHATKIT_SCRIPT_URL,
// CHATKIT_UPLOAD_MAX_BYTES, CHATKIT_ALLOWED_MIME_TYPES, OPENAI_API_KEY, OPENAI_BASE_URL, and for the
// first agent CHATKIT_MODEL and CHATKIT_API (e.g. llama3.2 over chat_completions on a local server).
// Point CHATKIT_CONFIG at another file to use that one instead.
import { fileURLToPath } from "node:url";
import { action, browserTools, defineAction, defineConfig, defineTool, localModelAgent, widget, z, type WidgetRoot } from "./src/index.ts";

// An example of an agent that acts: a tool that answers with a widget, and the server action
// behind the widget's button. With no API key, the built-in local responder calls the tool when
// your message names it ("roll dice"); a real model calls it when it sees fit.
const diceParameters = z.object({
  sides: z.number().int().min(2).max(1000).default(6).describe("faces on each die"),
  count: z.number().int().min(1).max(20).default(2).describe("how many dice to roll"),
});

function diceCard({ sides, count }: z.output<typeof diceParameters>): { card: WidgetRoot; copyText: string; total: number } {
  const rolls = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
  const total = rolls.reduce((sum, roll) => sum + roll, 0);
  const copyText = `${count}d${sides}: ${rolls.join(" + ")} = ${total}`;
  const card = widget.Card({
    size: "sm",
    children: [
      widget.Title({ value: `${count}d${sides}` }),
      widget.Text({ id: "rolls", value: `${rolls.join(" + ")} = ${total}` }),
      // streaming: false → `threads.sync_custom_action`: answered as JSON, works while an answer streams.
      widget.Button({ label: "Roll again", onClickAction: action("dice.roll", { sides, count }, { streaming: false }) }),
    ],
  });
  return { card, copyText, total };
}

const rollDice = defineTool({
  name: "roll_dice",
  description: "Rolls dice and shows the result to the user as a card with a button to roll again.",
  parameters: diceParameters,
  title: ({ count, sides }) => `Rolling ${count}d${sides}…`,
  composer: { label: "Roll dice", icon: "sparkle" },
  handler: async (dice, ctx) => {
    const { card, copyText, total } = diceCard(dice);
    await ctx.widget(card, { copyText });
    return { result: copyText, total, shown_to_user: "as a card with a 'Roll again' button" };
  },
});

const rollAgain = defineAction({
  payload: diceParameters,
  handler: ({ payload }, ctx) => {
    const { card, copyText } = diceCard(payload);
    ctx.updateSender(card, { copyText });
  },
});

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  server: {
    // host: "127.0.0.1",
    // port: 8787,
    // publicUrl: "https://chat.example.com", // how users reach the box, when behind a proxy
    // trustProxy: false,                      // proxies whose X-Forwarded-* are believed: ["10.0.0.5", "10.1.0.0/16"]; true = loopback only
    // accessLog: true,                        // one line per request: method, path, request type, status, duration
    // sseHeartbeatSeconds: 15,                // comment lines that keep idle proxies from closing streams; 0 = off
    // logFormat: "text",                      // or "json": one JSON object per line, with the request id
    // metrics: { enabled: false, token: undefined }, // Prometheus at GET /metrics; a token makes it bearer-only
  },

  limits: {
    // jsonBodyBytes: 1024 * 1024,             // largest POST /chatkit body, after decompression (413)
    // jsonMaxDepth: 32,                       // deepest JSON nesting in a request (400 json_too_deep)
    // jsonMaxStringLength: 200_000,           // longest string in a request, transcription audio aside (400)
    // streamsPerUser: 8,                      // streaming turns one user may have open (429 too_many_streams)
    // upstreamConcurrency: 512,               // model requests in flight for the whole box (429 upstream_busy)
    // failedAuthPerMinute: 20,                // failed bearer tokens / sign-in links per client address, then 429 (valid ones always work)
    // headersTimeoutMs: 20_000,               // slow request headers are cut
    // requestTimeoutMs: 300_000,              // slow request bodies are cut (answers and streams are not)
    // bodyMinBytesPerSecond: 1024,            // a signed-in body slower than this (per bodyRateWindowMs) is cut; 0: off
    // bodyRateWindowMs: 10_000,
  },

  quotas: {
    // tokensPerDay: null,                     // tokens per user per UTC day (null: off); the next turn is refused in the chat
    // tokensPerMonth: null,                   // tokens per user per UTC month
    // agents: { assistant: { tokensPerDay: 100_000 } }, // one agent's tokens per user
    // storedBytesPerUser: 1024 ** 3,          // files one user keeps, unsent uploads included (413 storage_quota_exceeded)
    // uploadsInFlightPerUser: 4,              // uploads one user sends at once (429 too_many_uploads)
  },

  // dataDir: "./data", // the whole state: SQLite database + attachments/. Back it up by copying it.

  database: {
    // url: "postgres://chatkit:secret@db.internal:5432/chatkit", // PostgreSQL for several servers; none = SQLite in dataDir
    // poolSize: 10,                           // connections each server keeps to PostgreSQL at most
  },

  // storage: { type: "dataDir" },             // attachment bytes in dataDir/attachments; for several servers:
  // storage: { type: "s3", bucket: "chatkit", endpoint: "https://s3.example.com", region: "us-east-1",
  //            prefix: "attachments/", forcePathStyle: true }, // credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY

  chatkit: {
    // apiUrl: "/chatkit",
    // domainKey: "local-dev",                 // from the OpenAI dashboard's domain allow-list
    // clientSecret: undefined,                // a static client secret for hosted mode
    // workflowId: "wf_...",                   // hosted mode: mint a client secret per user for this workflow
    // scriptUrl: "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js",
    // uploadMaxBytes: 25 * 1024 * 1024,
    // allowedMimeTypes: [],                   // e.g. ["image/png", "image/jpeg", "application/pdf"] or "image/*"; empty = all
    // unsentAttachmentTtlHours: 24,           // uploads never sent with a message are deleted after this; 0 = keep
  },

  pages: {
    // extraOrigins: [],                       // more origins the chat pages may load from, e.g. ["https://fonts.example.com"]
    // uploadStrategy: "direct",               // files go to <apiUrl>/upload; or "two_phase" (attachments.create)
    // ui: "auto",                             // OpenAI's component, else the built-in client when its script does not load;
                                               // "builtin": only the built-in client (offline, air-gapped); "chatkit": only OpenAI's
  },

  signIn: {
    // linkMinutes: 15,                        // how long a login link stays valid
    // sessionDays: 30,                        // how long the browser stays signed in
    // jwt: [{ issuer: "https://app.example.com", audience: "chatkit-box", jwksUrl: "https://app.example.com/.well-known/jwks.json" }],
    //                                         // apps that sign their users' tokens (or `secret` for HS256); see README "Sign-in"
    // proxy: { header: "X-Forwarded-Email" }, // an authenticating proxy names the user; only from server.trustProxy
  },

  // admins: ["you@example.com"],              // these addresses get the admin role (users, invitations, sessions)

  // cookieKeys: ["a long random string", "the previous one, while rotating"],
  // Left empty, a random key is generated once and kept in the data dir (with database.url, set them).

  openai: {
    // apiKey: process.env.OPENAI_API_KEY,     // without a key, agents answer with the built-in local responder
    // baseURL: "http://127.0.0.1:11434/v1",   // any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio)
    // timeoutMs: 120_000,
    // maxRetries: 2,                         // retries of a failed upstream request before anything streamed
    // transcriptionModel: "gpt-4o-mini-transcribe", // voice input (the composer's dictation button)
  },

  // MCP servers every agent uses (an agent can also list its own under `mcpServers`). Their tools
  // are offered to any model, local ones included, as `<server>__<tool>`; each call is a workflow task.
  mcpServers: {
    // The small server the tests use, started over stdio on first use. With no model configured, the
    // local responder calls a tool you name: try "demo echo".
    demo: {
      command: process.execPath,
      args: ["--import", "tsx", "test/support/mcp-server.ts"],
      cwd: here,
      // env: { API_TOKEN: process.env.DEMO_TOKEN ?? "" }, // added to a minimal environment (PATH, HOME, ...)
      tools: ["echo", "add"],                  // allow-list; all of the server's tools when left out
      // requireApproval: ["add"],             // or true: the user approves each call in the thread first
      // timeoutMs: 30_000,                    // per call
      // connectTimeoutMs: 30_000,             // to connect (and start a stdio server)
    },
    // A remote server over Streamable HTTP:
    // docs: {
    //   url: "https://mcp.example.com/mcp",
    //   headers: { Authorization: `Bearer ${process.env.DOCS_MCP_TOKEN}` },
    //   requireApproval: true,
    // },
  },

  // agentsSdk: { tracing: false },          // Agents SDK agents: export their traces to OpenAI (off: nothing leaves the box)

  agents: [
    // An agent answers with a `model` (below), or as code: `respond: async (turn) => { turn.write("…") }`,
    // or `sdkAgent: new Agent({ ... })` from @openai/agents. See "Agents as code" in the README.
    {
      id: "assistant",
      name: "Assistant",
      model: "gpt-4.1-mini",
      instructions: "You are a helpful assistant. Answer clearly and concisely.",
      // api: "responses",                     // or "chat_completions" for most local servers
      // baseURL: "http://127.0.0.1:11434/v1", // this agent's own upstream
      // apiKey: "sk-...",
      // temperature: 0.7,
      // maxOutputTokens: 1024,
      // models: ["gpt-4.1"],                  // extra models the composer may pick
      // vision: true,                          // false: attached images are named in text (text-only models)
      // historyMessages: 40,                   // latest messages of a thread sent to the model each turn
      // generateTitles: false,                // ask the model for a better title after the first turn
      // hostedTools: [                         // OpenAI's hosted tools (Responses API and an OpenAI key)
      //   { type: "web_search" },
      //   { type: "file_search", vector_store_ids: ["vs_..."] },
      //   { type: "code_interpreter", container: { type: "auto" } },
      //   { type: "image_generation", partial_images: 2 },
      //   { type: "mcp", server_label: "docs", server_url: "https://mcp.example.com/mcp", require_approval: "never" },
      // ],
      // mcpServers: { ... },                   // MCP servers only this agent uses
      // reasoning: { effort: "low", summary: "auto" }, // reasoning models: effort, and thought summaries shown as a workflow
      startScreen: {                            // the empty chat: a greeting and prompts a click sends
        greeting: "What can I help with today?",
        prompts: [
          { label: "Roll a die", prompt: "Roll a die for me", icon: "sparkle" },
          { label: "Show some code", prompt: "Show me a short Python function that adds two numbers, and a table of examples." },
          { label: "What time is it here?", prompt: "What time is it where I am?" },
        ],
      },
      tools: [rollDice, ...browserTools],       // functions the model may call (defineTool); browserTools run in the chat page; see the README
      actions: { "dice.roll": rollAgain },      // widget button handlers by action type (defineAction)
      // maxToolRounds: 8,                      // tool rounds per turn before the model must answer in text
    },
    // A model on a local server (Chat Completions, the server's default address, text only):
    // localModelAgent({ id: "llama", name: "Llama", model: "llama3.2", server: "ollama" }), // or "vllm", "llama.cpp", "lm-studio"
  ],
});
