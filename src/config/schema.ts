import { isIP } from "node:net";
import { z } from "zod";
import { HOSTED_TOOL_TYPES, toolParametersJsonSchema, type ConfigAction, type ConfigTool, type HostedTool } from "./tools.ts";

/** The seed's default CDN location of the ChatKit web component. */
export const DEFAULT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";
export const DEFAULT_UPLOAD_MAX_BYTES = 25 * 1024 * 1024;

const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const isFunction = (value: unknown) => typeof value === "function";
const isZodSchema = (value: unknown) => typeof (value as { safeParse?: unknown } | null)?.safeParse === "function";

/** Checks a tool's shape; the tool itself (functions, zod schemas) is kept as written. */
const toolShape = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '_' and '-' only (at most 64)"),
  description: z.string().min(1),
  parameters: z.custom((value) => isZodSchema(value), "must be a zod schema, e.g. z.object({ ... })"),
  handler: z.custom((value) => isFunction(value), "must be a function (leave it out for a client tool)").optional(),
  title: z.union([z.string(), z.custom((value) => isFunction(value), "must be a string or a function")]).optional(),
  display: z.enum(["workflow", "progress", "hidden"]).optional(),
  timeoutMs: z.number().int().positive().optional(),
  composer: z
    .strictObject({
      label: z.string().min(1),
      icon: z.string().optional(),
      shortLabel: z.string().optional(),
      placeholderOverride: z.string().optional(),
      pinned: z.boolean().optional(),
    })
    .optional(),
});

function checkShape<T>(shape: z.ZodType) {
  return z.custom<T>().superRefine((value, ctx) => {
    const result = shape.safeParse(value);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  });
}

const actionShape = z.strictObject({
  payload: z.custom((value) => isZodSchema(value), "must be a zod schema").optional(),
  timeoutMs: z.number().int().positive().optional(),
  handler: z.custom((value) => isFunction(value), "must be a function"),
});

const mcpCommon = {
  /** Only these of the server's tools are offered (its own tool names); all when left out. */
  tools: z.array(z.string().min(1)).optional(),
  /** Ask the user before each call: every tool (`true`) or these tool names. */
  requireApproval: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /** Milliseconds one call (or the tool listing) may take before it counts as failed. */
  timeoutMs: z.number().int().positive().default(30_000),
  /** Milliseconds to connect (a stdio server's start included) before the server counts as down. */
  connectTimeoutMs: z.number().int().positive().default(30_000),
};

/** An MCP server over stdio: a local command this box starts (and restarts when it dies). */
const mcpStdioServer = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Added to a minimal environment (PATH, HOME, ...); the box's own secrets are not passed on. */
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().min(1).optional(),
  ...mcpCommon,
});

/** A remote MCP server over Streamable HTTP. */
const mcpHttpServer = z.strictObject({
  url: z.url(),
  /** Sent with every request, e.g. `{ Authorization: "Bearer " + process.env.MCP_TOKEN }`. */
  headers: z.record(z.string(), z.string()).default({}),
  ...mcpCommon,
});

export const mcpServerSchema = z.union([mcpStdioServer, mcpHttpServer], { error: "needs either `command` (stdio) or `url` (Streamable HTTP), and only the keys those take" });

/** MCP servers by name; the name prefixes their tools (`<name>__<tool>`). */
const mcpServersSchema = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,24}$/, "letters, digits, '_' and '-' only (at most 24)"), mcpServerSchema).default({});

export const agentSchema = z.strictObject({
  /** Stable id used in `?agent_id=` and page URLs. */
  id: z.string().regex(agentIdPattern, "letters, digits, '-' and '_' only (at most 64)"),
  /** Display name shown on pages and used as the fallback thread title. */
  name: z.string().min(1),
  /** Model id sent upstream. */
  model: z.string().min(1),
  /** System instructions for every turn. */
  instructions: z.string().default("You are a helpful assistant."),
  /** Upstream wire format: the Responses API (default) or Chat Completions (most local servers). */
  api: z.enum(["responses", "chat_completions"]).default("responses"),
  /** Per-agent upstream; falls back to `openai.baseURL` / `OPENAI_BASE_URL`. */
  baseURL: z.url().optional(),
  /** Per-agent key; falls back to `openai.apiKey` / `OPENAI_API_KEY`. */
  apiKey: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  /** Models the composer may pick (`inference_options.model`); the agent's `model` is always allowed. */
  models: z.array(z.string().min(1)).default([]),
  /** The model takes images: false names attached pictures in text instead (text-only local models). */
  vision: z.boolean().default(true),
  /** The most recent messages of a thread sent to the model each turn. */
  historyMessages: z.number().int().positive().default(40),
  /** Ask the model for a better thread title after the first turn. */
  generateTitles: z.boolean().default(false),
  /** Functions the model may call (`defineTool`): on this server (with a handler) or in the browser (without). */
  tools: z
    .array(
      checkShape<ConfigTool>(toolShape).superRefine((tool, ctx) => {
        if (!isZodSchema(tool.parameters)) return;
        // What the model is sent must be an object schema; a schema zod cannot export fails here, not on every turn.
        try {
          if (toolParametersJsonSchema(tool.parameters).type !== "object") ctx.addIssue({ code: "custom", path: ["parameters"], message: "must be an object schema, e.g. z.object({ ... })" });
        } catch (error) {
          ctx.addIssue({ code: "custom", path: ["parameters"], message: `cannot be sent as JSON schema: ${(error as Error).message}` });
        }
      }),
    )
    .default([])
    .superRefine((tools, ctx) => {
      const seen = new Set<string>();
      tools.forEach((tool, index) => {
        if (seen.has(tool.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate tool name "${tool.name}"` });
        seen.add(tool.name);
      });
    }),
  /** Widget action handlers by action type (`defineAction`). */
  actions: z.record(z.string().min(1), checkShape<ConfigAction>(actionShape)).default({}),
  /**
   * For reasoning models: how hard to think and whether to stream summaries of it (shown as a
   * workflow of thoughts). Responses API: `reasoning`; Chat Completions: `reasoning_effort`.
   */
  reasoning: z
    .strictObject({
      effort: z.enum(["minimal", "low", "medium", "high"]).optional(),
      summary: z.enum(["auto", "concise", "detailed"]).optional(),
    })
    .optional(),
  /** Rounds of tool calls in one turn; the model call after the last one may only answer in text. */
  maxToolRounds: z.number().int().min(1).max(50).default(8),
  /**
   * OpenAI's hosted tools, in the Responses API's own shape (`api: "responses"` only), e.g.
   * `{ type: "web_search" }`, `{ type: "file_search", vector_store_ids: ["vs_..."] }`,
   * `{ type: "image_generation", partial_images: 2 }`, `{ type: "code_interpreter", container: { type: "auto" } }`,
   * `{ type: "mcp", server_label: "docs", server_url: "https://...", require_approval: "never" }`.
   */
  hostedTools: z
    .array(z.custom<HostedTool>((value) => (HOSTED_TOOL_TYPES as readonly unknown[]).includes((value as { type?: unknown } | null)?.type), `type must be one of ${HOSTED_TOOL_TYPES.join(", ")}`))
    .default([]),
  /** MCP servers only this agent uses (besides the box-wide `mcpServers`). */
  mcpServers: mcpServersSchema,
});

export const s3StorageSchema = z
  .strictObject({
    type: z.literal("s3"),
    bucket: z.string().min(1),
    /** The S3-compatible server, e.g. "https://minio.internal:9000"; left out for AWS S3. */
    endpoint: z.url().optional(),
    region: z.string().min(1).default("us-east-1"),
    /** Prepended to every object key (an attachment's id), e.g. "chatkit/attachments/". */
    prefix: z.string().default("attachments/"),
    /** Path-style URLs (endpoint/bucket/key), which most self-hosted S3 servers need. */
    forcePathStyle: z.boolean().default(false),
    /** Left out, the AWS SDK's usual chain applies (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
  })
  .refine((s3) => (s3.accessKeyId === undefined) === (s3.secretAccessKey === undefined), {
    message: "give both accessKeyId and secretAccessKey, or neither (to use the AWS environment)",
    path: ["secretAccessKey"],
  });

export type S3StorageConfig = z.output<typeof s3StorageSchema>;

/** An address (`10.0.0.5`, `::1`) or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** What `trustProxy: true` means: a proxy on this host (loopback), never any client that reaches the port. */
export const LOOPBACK_PROXIES = ["127.0.0.0/8", "::1"];

const trustProxySchema = z
  .union([z.boolean(), z.array(z.string().refine(isAddressOrCidr, "an IP address or CIDR block, e.g. \"10.0.0.0/8\""))])
  .default(false)
  .transform((value) => (value === true ? LOOPBACK_PROXIES : value === false ? [] : value));

/** JWS algorithms an app's tokens may use: public-key ones for a JWKS, HMAC ones for a shared secret; never `none`. */
export const JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;
export const SECRET_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

const jwtIssuerSchema = z
  .strictObject({
    /** The tokens' `iss`; users are found by it and `sub` (provider `jwt:<issuer>`). */
    issuer: z.string().min(1),
    /** The `aud` the tokens must carry (one of these). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Where the issuer publishes its public keys; fetched once, then again only for a key id not seen yet. */
    jwksUrl: z.url().optional(),
    /** A shared secret for HS256 tokens instead of a JWKS (at least 32 characters). */
    secret: z.string().min(32, "use at least 32 characters").optional(),
    /** Accepted algorithms; default every public-key one with `jwksUrl`, HS256 with `secret`. */
    algorithms: z.array(z.enum([...JWKS_ALGORITHMS, ...SECRET_ALGORITHMS])).min(1).optional(),
    /** Seconds of clock difference tolerated for `exp` and `nbf`. */
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
    /** Seconds after a fetch of the JWKS during which an unknown key id does not fetch it again. */
    jwksCooldownSec: z.number().min(0).max(3600).default(30),
  })
  .superRefine((jwt, ctx) => {
    if ((jwt.jwksUrl === undefined) === (jwt.secret === undefined)) {
      ctx.addIssue({ code: "custom", path: ["jwksUrl"], message: "give either jwksUrl (public keys) or secret (HS256), not both or neither" });
      return;
    }
    const allowed: readonly string[] = jwt.secret === undefined ? JWKS_ALGORITHMS : SECRET_ALGORITHMS;
    for (const [index, algorithm] of (jwt.algorithms ?? []).entries()) {
      if (!allowed.includes(algorithm)) {
        const why = jwt.secret === undefined ? "a JWKS holds public keys: use RS256, ES256, EdDSA…" : "a shared secret signs with HMAC: use HS256, HS384 or HS512";
        ctx.addIssue({ code: "custom", path: ["algorithms", index], message: `${algorithm} does not fit: ${why}` });
      }
    }
  });

export type JwtIssuerConfig = z.output<typeof jwtIssuerSchema>;

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8787),
      /** Absolute base URL users reach us at (behind a proxy); used for preview and upload URLs. */
      publicUrl: z.url().optional(),
      /**
       * Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For`, `-Proto` and `-Host`
       * are believed, and from which `signIn.proxy.header` is honoured; from anyone else those
       * headers are ignored. `true` means loopback only (a proxy on this host), `false` none.
       */
      trustProxy: trustProxySchema,
      /** Log one line per request (method, path, ChatKit request type, status, duration). */
      accessLog: z.boolean().default(true),
      /** Seconds between SSE comment heartbeats while the model is silent; 0 turns them off. */
      sseHeartbeatSeconds: z.number().min(0).default(15),
      /** Log lines as plain text or one JSON object per line (for log shippers). */
      logFormat: z.enum(["text", "json"]).default("text"),
      /** A Prometheus `/metrics` endpoint: off, open to anyone who can reach the port, or behind this bearer token. */
      metrics: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** When set, `/metrics` requires `Authorization: Bearer <token>`. */
          token: z.string().min(16, "use at least 16 characters").optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  /** What one request, one user and the whole box may consume. Every refusal has its own status and error key. */
  limits: z
    .strictObject({
      /** Largest JSON body of a ChatKit request, after decompression (413 payload_too_large). */
      jsonBodyBytes: z.number().int().positive().default(1024 * 1024),
      /** Largest JSON nesting depth of a request body (400 json_too_deep). */
      jsonMaxDepth: z.number().int().min(4).max(1000).default(32),
      /** Longest string anywhere in a request body other than transcription audio, in characters (400 string_too_long). */
      jsonMaxStringLength: z.number().int().positive().default(200_000),
      /** Streaming turns one user may have open at once (429 too_many_streams). */
      streamsPerUser: z.number().int().positive().default(8),
      /** Model requests in flight for the whole box (429 upstream_busy). */
      upstreamConcurrency: z.number().int().positive().default(512),
      /** Failed bearer tokens and sign-in links one client address may try per minute (429 too_many_failed_attempts). */
      failedAuthPerMinute: z.number().int().positive().default(20),
      /** Milliseconds a client may take to send a request's headers. */
      headersTimeoutMs: z.number().int().positive().default(20_000),
      /** Milliseconds a client may take to send a whole request, body included (not the answer: streams may last longer). */
      requestTimeoutMs: z.number().int().positive().default(300_000),
    })
    .prefault({}),
  /** Folder holding the whole state: the SQLite database and `attachments/`. */
  dataDir: z.string().min(1).default("./data"),
  /** Where threads, users and sessions live: SQLite in the data dir unless `url` names a PostgreSQL server. */
  database: z
    .strictObject({
      /** `postgres://user:password@host:5432/db`: several servers can share it ("More than one box" in the README). */
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//i, "a postgres:// URL (leave it out to keep SQLite in the data dir)")
        .optional(),
      /** Connections each server keeps open to PostgreSQL at most. */
      poolSize: z.number().int().min(1).max(1000).default(10),
    })
    .prefault({}),
  /** Where attachment bytes live: the data dir (default), or an S3-compatible bucket that several servers share. */
  storage: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("dataDir") }),
      s3StorageSchema,
    ])
    .default({ type: "dataDir" }),
  /** The seed's ChatkitConfig. */
  chatkit: z
    .strictObject({
      apiUrl: z.string().min(1).default("/chatkit"),
      domainKey: z.string().min(1).default("local-dev"),
      /** A static client secret for hosted mode (the seed's CHATKIT_CLIENT_SECRET). */
      clientSecret: z.string().min(1).optional(),
      /** Hosted mode: an Agent Builder workflow id (`wf_...`); client secrets are minted per user. */
      workflowId: z.string().min(1).optional(),
      scriptUrl: z.url().default(DEFAULT_SCRIPT_URL),
      uploadMaxBytes: z.number().int().positive().default(DEFAULT_UPLOAD_MAX_BYTES),
      /** Allowed upload MIME types; empty allows every type. */
      allowedMimeTypes: z.array(z.string().min(1)).default([]),
      /** Hours after which uploads never sent with a message are deleted (row and file); 0 keeps them. */
      unsentAttachmentTtlHours: z.number().min(0).default(24),
    })
    .prefault({}),
  /** The chat pages (`/agents/:id/chatkit`). */
  pages: z
    .strictObject({
      /** Origins the pages' Content-Security-Policy allows besides ours and the script URL's, e.g. "https://fonts.example.com". */
      extraOrigins: z.array(z.url()).default([]),
      /** How the web component sends files: straight to `<apiUrl>/upload`, or two-phase through `attachments.create`. */
      uploadStrategy: z.enum(["direct", "two_phase"]).default("direct"),
      /**
       * Which chat client the pages run: OpenAI's web component from `chatkit.scriptUrl`, the
       * built-in client served by this box (no request leaves it), or the official one with the
       * built-in one as a fallback when the script does not load within a few seconds.
       */
      ui: z.enum(["auto", "chatkit", "builtin"]).default("auto"),
    })
    .prefault({}),
  /** Who may sign in, and how: login links, app-issued tokens, an authenticating proxy. */
  signIn: z
    .strictObject({
      /** Minutes a login link stays valid. */
      linkMinutes: z.number().int().positive().max(24 * 60).default(15),
      /** Days the browser session a login link opens lasts. */
      sessionDays: z.number().int().positive().default(30),
      /** Hours an invitation's sign-in link stays valid (an admin's invite, from the admin API or `npm run users -- invite`). */
      invitationHours: z.number().int().positive().max(30 * 24).default(72),
      /** Apps whose signed tokens (`Authorization: Bearer <JWT>`) sign their users in, one entry per issuer. */
      jwt: z
        .array(jwtIssuerSchema)
        .default([])
        .superRefine((issuers, ctx) => {
          const seen = new Set<string>();
          issuers.forEach((issuer, index) => {
            if (seen.has(issuer.issuer)) ctx.addIssue({ code: "custom", path: [index, "issuer"], message: `duplicate issuer "${issuer.issuer}"` });
            seen.add(issuer.issuer);
          });
        }),
      /** An authenticating proxy in front of the box (oauth2-proxy, Authelia…) names the user in this header. */
      proxy: z
        .strictObject({
          /** The header with the signed-in user's email, e.g. "X-Forwarded-Email"; honoured only from `server.trustProxy` addresses. */
          header: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "a header name, e.g. \"X-Forwarded-Email\""),
        })
        .optional(),
    })
    .prefault({}),
  /** Email addresses of the administrators: they get the admin role when they sign in (and at start, if they exist). */
  admins: z.array(z.email().transform((email) => email.trim().toLowerCase())).default([]),
  /**
   * Keys that sign the `session_id` cookie and preview links, newest first (keygrip rotation).
   * When empty, a random key is generated once and kept in the data dir; with a `database.url`
   * (several servers) they must be set, here or in CHATKIT_COOKIE_KEYS, so every server agrees.
   */
  cookieKeys: z.array(z.string().min(16, "use at least 16 characters")).default([]),
  /** Default upstream for every agent; the `openai` client's env vars fill in what is missing. */
  openai: z
    .strictObject({
      apiKey: z.string().min(1).optional(),
      baseURL: z.url().optional(),
      /** Milliseconds of upstream silence (before or during a stream) after which a turn fails. */
      timeoutMs: z.number().int().positive().default(120_000),
      /** Retries of a failed upstream request before any of the answer has streamed. */
      maxRetries: z.number().int().min(0).max(10).default(2),
      /** Model that turns voice input (`input.transcribe`) into text. */
      transcriptionModel: z.string().min(1).default("gpt-4o-mini-transcribe"),
    })
    .prefault({}),
  /** MCP servers every agent uses; their tools are offered as `<name>__<tool>`. */
  mcpServers: mcpServersSchema,
  agents: z
    .array(agentSchema)
    .min(1, "define at least one agent")
    .superRefine((agents, ctx) => {
      const seen = new Set<string>();
      agents.forEach((agent, index) => {
        if (seen.has(agent.id)) {
          ctx.addIssue({ code: "custom", path: [index, "id"], message: `duplicate agent id "${agent.id}"` });
        }
        seen.add(agent.id);
      });
    }),
})
  .superRefine((config, ctx) => {
    if (config.signIn.proxy && config.server.trustProxy.length === 0) {
      ctx.addIssue({ code: "custom", path: ["signIn", "proxy"], message: "list the proxy's addresses in server.trustProxy: the header is honoured only from them" });
    }
    if (config.limits.headersTimeoutMs > config.limits.requestTimeoutMs) {
      ctx.addIssue({ code: "custom", path: ["limits", "headersTimeoutMs"], message: "must not exceed limits.requestTimeoutMs" });
    }
    if (config.pages.ui === "builtin" && (config.chatkit.workflowId || config.chatkit.clientSecret)) {
      ctx.addIssue({
        code: "custom",
        path: ["pages", "ui"],
        message: "the built-in client talks to this server, not to OpenAI's hosted backend: use \"chatkit\" or \"auto\" in hosted mode",
      });
    }
    config.agents.forEach((agent, index) => {
      if (agent.hostedTools.length && agent.api !== "responses") {
        ctx.addIssue({ code: "custom", path: ["agents", index, "hostedTools"], message: 'hosted tools need the Responses API (api: "responses")' });
      }
      agent.hostedTools.forEach((tool, toolIndex) => {
        // The upstream's approval requests would need a reply we do not send: ask through `mcpServers` instead.
        if (tool.type === "mcp" && tool.require_approval !== "never") {
          ctx.addIssue({ code: "custom", path: ["agents", index, "hostedTools", toolIndex], message: 'a hosted MCP server needs require_approval: "never" (for approval in the thread, list it under mcpServers)' });
        }
      });
      for (const name of Object.keys(agent.mcpServers)) {
        if (name in config.mcpServers) ctx.addIssue({ code: "custom", path: ["agents", index, "mcpServers", name], message: `"${name}" is already a box-wide MCP server` });
      }
    });
    if (config.chatkit.workflowId && !config.openai.apiKey) {
      ctx.addIssue({
        code: "custom",
        path: ["chatkit", "workflowId"],
        message: "hosted mode mints client secrets with an OpenAI API key: set openai.apiKey or OPENAI_API_KEY",
      });
    }
  });

/** What a config file writes: defaults may be left out. */
export type ChatkitConfigInput = z.input<typeof configSchema>;
/** The validated config with every default filled in. */
export type ChatkitConfig = z.output<typeof configSchema>;
export type AgentConfig = z.output<typeof agentSchema>;
export type McpServerConfig = z.output<typeof mcpServerSchema>;

/**
 * Types a config file so editors complete and check its keys.
 *
 * @example
 * export default defineConfig({ agents: [{ id: "assistant", name: "Assistant", model: "gpt-4.1-mini" }] });
 */
export function defineConfig(config: ChatkitConfigInput): ChatkitConfigInput {
  return config;
}
