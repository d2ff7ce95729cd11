// The box's configuration. Every key is optional but `agents`; the comments show the defaults.
// Environment variables still win over this file: PORT, HOST, CHATKIT_DATA_DIR, CHATKIT_DATABASE_URL,
// CHATKIT_COOKIE_KEYS, CHATKIT_API_URL,
// CHATKIT_PK / CHATKIT_DOMAIN_KEY, CHATKIT_CLIENT_SECRET, CHATKIT_WORKFLOW_ID, CHATKIT_SCRIPT_URL,
// CHATKIT_UPLOAD_MAX_BYTES, CHATKIT_ALLOWED_MIME_TYPES, OPENAI_API_KEY, OPENAI_BASE_URL.
// Point CHATKIT_CONFIG at another file to use that one instead.
import { defineConfig } from "./src/index.ts";

export default defineConfig({
  server: {
    // host: "127.0.0.1",
    // port: 8787,
    // publicUrl: "https://chat.example.com", // how users reach the box, when behind a proxy
    // trustProxy: false,                      // trust X-Forwarded-* from that proxy
    // accessLog: true,                        // one line per request: method, path, request type, status, duration
    // sseHeartbeatSeconds: 15,                // comment lines that keep idle proxies from closing streams; 0 = off
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
  },

  signIn: {
    // linkMinutes: 15,                        // how long a login link stays valid
    // sessionDays: 30,                        // how long the browser stays signed in
  },

  // cookieKeys: ["a long random string", "the previous one, while rotating"],
  // Left empty, a random key is generated once and kept in the data dir (with database.url, set them).

  openai: {
    // apiKey: process.env.OPENAI_API_KEY,     // without a key, agents answer with the built-in local responder
    // baseURL: "http://127.0.0.1:11434/v1",   // any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio)
    // timeoutMs: 120_000,
    // maxRetries: 2,                         // retries of a failed upstream request before anything streamed
    // transcriptionModel: "gpt-4o-mini-transcribe", // voice input (the composer's dictation button)
  },

  agents: [
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
    },
  ],
});
