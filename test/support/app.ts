import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type { ChatkitConfig, ChatkitConfigInput } from "../../src/config/schema.ts";
import { formatLogLine, type Logger } from "../../src/core/logger.ts";
import type { ThreadItem, ThreadMetadata } from "../../src/protocol/items.ts";
import { attachmentStorageFor } from "../../src/attachments/storage.ts";
import { recoverInterruptedUploads } from "../../src/attachments/sweep.ts";
import { createApp, createHttpServer } from "../../src/server/app.ts";
import type { Kysely } from "kysely";
import type { McpRegistry } from "../../src/mcp/registry.ts";
import type { AppServices } from "../../src/server/services.ts";
import { connectDatabase, openStore, type ItemPageRequest, type Owner, type PageResult, type Store, type ThreadPageRequest } from "../../src/store/index.ts";
import type { Database } from "../../src/store/schema.ts";
import { startFakeOpenAI, type FakeOpenAI, type Script } from "./fake-openai.ts";
import { parseSse, readSse, type ParsedEvent } from "./sse.ts";

export const TEST_AGENT = {
  id: "assistant",
  name: "Assistant",
  model: "test-model",
  instructions: "You are a test assistant.",
};

const parsed = <T>({ rows, hasMore }: PageResult<string>): PageResult<T> => ({ rows: rows.map((row) => JSON.parse(row) as T), hasMore });

/** A page of the owner's threads as the store answers it (wire JSON), parsed for assertions. */
export async function threadPage(store: Store, owner: Owner, page: ThreadPageRequest): Promise<PageResult<ThreadMetadata>> {
  return parsed(await store.threads.listJson(owner, page));
}

/** A page of a thread's items as the store answers it (protocol JSON), parsed for assertions. */
export async function itemPage(store: Store, owner: Owner, threadId: string, page: ItemPageRequest): Promise<PageResult<ThreadItem>> {
  return parsed(await store.items.listJson(owner, threadId, page));
}

/**
 * A logger that keeps what it is told: `lines` holds errors, `infoLines` the rest (access log),
 * `jsonLines` every line as `server.logFormat: "json"` writes it (with its request id).
 */
export function memoryLogger(): Logger & { lines: string[]; infoLines: string[]; jsonLines: string[] } {
  const lines: string[] = [];
  const infoLines: string[] = [];
  const jsonLines: string[] = [];
  const logger = (requestId?: string): Logger => ({
    info: (message, fields) => {
      infoLines.push(formatLogLine("text", "info", message, undefined, undefined, fields));
      jsonLines.push(formatLogLine("json", "info", message, undefined, requestId, fields));
    },
    error: (message, error) => {
      lines.push(`${message} ${error instanceof Error ? error.message : (error ?? "")}`);
      jsonLines.push(formatLogLine("json", "error", message, error, requestId));
    },
    forRequest: logger,
  });
  return { lines, infoLines, jsonLines, ...logger() };
}

export interface TestServer {
  url: string;
  config: ChatkitConfig;
  store: Store;
  /** A connection of its own to the server's database, for looking at (or ageing) rows as an operator's SQL would. */
  db: Kysely<Database>;
  dataDir: string;
  logger: ReturnType<typeof memoryLogger>;
  /** The app's MCP connections (closed by `close`). */
  mcp: McpRegistry;
  /** Every service the app runs on (metrics, the upstream gate, ...). */
  services: AppServices;
  /** The fake upstream the config points at (`upstream` option); throws when started without one. */
  fake: FakeOpenAI;
  /** Mints a bearer token for this email, creating the user if needed. */
  token(email?: string): Promise<string>;
  /** POSTs a ChatKit request as JSON and returns the status and parsed body. */
  request(type: string, params?: unknown, options?: RequestOptions): Promise<{ status: number; body: any; headers: Headers }>;
  /** POSTs a streaming ChatKit request and returns every SSE event. */
  stream(type: string, params?: unknown, options?: RequestOptions): Promise<{ status: number; events: ParsedEvent[]; raw: string }>;
  /** Streams a request and hangs up (the stop button) right after the first event `stopAt` accepts; returns the events seen. */
  streamUntil(type: string, params: unknown, stopAt: (event: ParsedEvent) => boolean): Promise<ParsedEvent[]>;
  /** Stops the server; keeps the data dir unless `removeData`. */
  close(options?: { removeData?: boolean }): Promise<void>;
}

export interface RequestOptions {
  token?: string;
  agentId?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function tempDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), "chatkit-test-"));
}

/** A session token minted straight in the data dir's database, before any server runs. */
export async function mintToken(dataDir: string, email: string): Promise<string> {
  const store = await openStore({ dataDir });
  try {
    const { user } = await store.users.findOrCreate(email);
    return (await store.sessions.create(user.id, 1)).token;
  } finally {
    await store.close();
  }
}

/** Cookie keys for servers on a shared database (which require configured keys). */
export const TEST_COOKIE_KEYS = ["test-cookie-key-0123456789abcdef"];

let databaseFor: ((dataDir: string) => Promise<string>) | undefined;
const databaseByDataDir = new Map<string, string>();

/**
 * From now on, test servers in this process keep their data in PostgreSQL: `createDatabase`
 * gives each new data dir a database of its own (a restart on the same data dir finds its data).
 */
export function useDatabaseForTestServers(createDatabase: () => Promise<string>): void {
  databaseFor = async (dataDir) => {
    let url = databaseByDataDir.get(dataDir);
    if (!url) databaseByDataDir.set(dataDir, (url = await createDatabase()));
    return url;
  };
}

export interface TestServerOptions {
  /** Merged over a minimal test config (one agent, TEST_AGENT). */
  config?: Partial<ChatkitConfigInput>;
  dataDir?: string;
  /**
   * The model upstream: a fake started for this server (from its fallback script, closed with the
   * server) or one already running (shared, left open). `openai` points at it, with no retries
   * unless `config.openai` says otherwise.
   */
  upstream?: Script | FakeOpenAI;
}

/**
 * Starts the real app on 127.0.0.1 with an ephemeral port and a fresh (or given) data dir.
 * `config` is merged over a minimal test config; the environment is not read.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const database = databaseFor && !options.config?.database ? { database: { url: await databaseFor(dataDir) }, cookieKeys: TEST_COOKIE_KEYS } : {};
  const ownFake = options.upstream && !isFake(options.upstream) ? await startFakeOpenAI(options.upstream) : undefined;
  const fake = ownFake ?? (options.upstream as FakeOpenAI | undefined);
  const openai = fake ? { openai: { apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0, ...options.config?.openai } } : {};
  const config = parseConfig({ agents: [TEST_AGENT], ...database, ...options.config, ...openai, dataDir });
  const store = await openStore(config);
  const { db } = connectDatabase(config);
  const logger = memoryLogger();
  if (!config.database.url) await recoverInterruptedUploads(store.attachments, attachmentStorageFor(config));
  const app = createApp(config, { store, logger });
  const { mcp } = app.services;
  const server: Server = await new Promise((resolve) => {
    const s = createHttpServer(app, config).listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new Map<string, string>();

  const token = async (email = "alice@example.com") => {
    const known = tokens.get(email);
    if (known) return known;
    const { user } = await store.users.findOrCreate(email);
    const { token: minted } = await store.sessions.create(user.id, 1);
    tokens.set(email, minted);
    return minted;
  };

  const post = async (type: string, params: unknown, opts: RequestOptions) => {
    const agent = opts.agentId === undefined ? TEST_AGENT.id : opts.agentId;
    const query = agent === null ? "" : `?agent_id=${encodeURIComponent(agent)}`;
    const bearer = opts.token ?? (await token());
    return fetch(`${url}/chatkit${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}`, ...opts.headers },
      body: JSON.stringify(params === undefined ? { type } : { type, params }),
      signal: opts.signal ?? null,
    });
  };

  return {
    url,
    config,
    store,
    db,
    dataDir,
    logger,
    mcp,
    services: app.services,
    get fake(): FakeOpenAI {
      if (!fake) throw new Error("this test server was started without an upstream");
      return fake;
    },
    token,
    async request(type, params, opts = {}) {
      const response = await post(type, params, opts);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
    },
    async stream(type, params, opts = {}) {
      const response = await post(type, params, opts);
      const raw = await response.text();
      return { status: response.status, events: parseSse(raw), raw };
    },
    async streamUntil(type, params, stopAt) {
      const controller = new AbortController();
      const response = await post(type, params, { signal: controller.signal });
      const events: ParsedEvent[] = [];
      try {
        for await (const event of readSse(response)) {
          events.push(event);
          if (stopAt(event)) controller.abort();
        }
      } catch (error) {
        if ((error as Error).name !== "AbortError") throw error;
      }
      return events;
    },
    async close({ removeData = false } = {}) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await db.destroy();
      await store.close();
      await ownFake?.close();
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const isFake = (upstream: Script | FakeOpenAI): upstream is FakeOpenAI => "baseURL" in upstream;
