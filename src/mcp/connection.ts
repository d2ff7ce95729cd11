import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { McpServerConfig } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";

const CLIENT_INFO = { name: "chatkit-box", version: "0.1.0" };
const STDERR_LINE_LIMIT = 500;
/** After a failed connection attempt, turns skip the server this long instead of waiting on it again. */
export const RETRY_AFTER_MS = 5_000;

/**
 * One MCP server as this box uses it: connected on first use, kept across turns and shared by
 * every user's calls. A call that passes `timeoutMs` or is stopped is cancelled on its own (the
 * SDK tells the server with `notifications/cancelled`); the connection and the other calls on it
 * go on. It is connected anew only when the server is really gone: the transport closed (a stdio
 * process exited), or an HTTP server no longer knows our session. The tool list is cached per
 * connection.
 */
export class McpConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private tools: Tool[] | undefined;
  private closed = false;
  private lastFailure: { at: number; error: Error } | undefined;
  /** How many times a connection was made; for tests and `check`. */
  connects = 0;

  constructor(
    readonly name: string,
    readonly config: McpServerConfig,
    private readonly logger: Logger,
  ) {}

  get isConnected(): boolean {
    return this.client !== undefined;
  }

  /** Whether using it now waits for a connection to be made. */
  get needsConnecting(): boolean {
    return !this.client && !this.closed && !this.recentFailure();
  }

  private recentFailure(): Error | undefined {
    return this.lastFailure && Date.now() - this.lastFailure.at < RETRY_AFTER_MS ? this.lastFailure.error : undefined;
  }

  /** The server's tools; listed once per connection. */
  async listTools(): Promise<Tool[]> {
    return this.request(async (client) => {
      if (this.tools) return this.tools;
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.config.timeoutMs });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      if (this.client === client) this.tools = tools;
      return tools;
    });
  }

  /** Calls a tool; transport failures, timeouts and stops throw, tool errors come back as `isError`. */
  async callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    const result = await this.request((client) => client.callTool({ name, arguments: args }, undefined, { signal, timeout: this.config.timeoutMs }));
    return result as CallToolResult;
  }

  /** Whether the server answers a ping now (connecting if needed); for `check`. */
  async ping(): Promise<void> {
    await this.request((client) => client.ping({ timeout: this.config.timeoutMs }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error(`MCP server "${this.name}" is shut down`));
    if (this.client) return Promise.resolve(this.client);
    const failure = this.recentFailure();
    if (failure) return Promise.reject(failure);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<Client> {
    // Loaded on first use, so a box that never connects to an MCP server does not load the client.
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const client = new Client(CLIENT_INFO);
    const transport = await this.transport();
    client.onclose = () => {
      if (this.client === client) {
        this.client = undefined;
        this.tools = undefined;
      }
    };
    client.onerror = (error) => this.logger.error(`MCP server "${this.name}": ${error.message}`);
    try {
      await client.connect(transport, { timeout: this.config.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => {});
      const failure = new Error(`could not connect to MCP server "${this.name}": ${(error as Error).message}`, { cause: error });
      this.lastFailure = { at: Date.now(), error: failure };
      throw failure;
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new Error(`MCP server "${this.name}" is shut down`);
    }
    this.connects++;
    this.lastFailure = undefined;
    this.client = client;
    return client;
  }

  private async transport(): Promise<Transport> {
    const config = this.config;
    if ("url" in config) {
      const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
      return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
    }
    const { getDefaultEnvironment, StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: { ...getDefaultEnvironment(), ...config.env },
      ...(config.cwd ? { cwd: config.cwd } : {}),
      stderr: "pipe",
    });
    let pending = "";
    transport.stderr?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.logger.info(`MCP server "${this.name}": ${line.slice(0, STDERR_LINE_LIMIT)}`);
    });
    return transport;
  }

  /**
   * Sends a request on the connection. A closed transport already forgot the client (`onclose`),
   * so the next request connects again. An HTTP server that answers 404 to our session has lost it
   * (it restarted): the protocol asks for a new session, and the request, which it never ran, is
   * sent once more on it.
   */
  private async request<T>(send: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await send(client);
    } catch (error) {
      if (!(await this.sessionLost(error))) throw error;
      if (this.client === client) await this.drop();
      return send(await this.connect());
    }
  }

  private async sessionLost(error: unknown): Promise<boolean> {
    if (!("url" in this.config)) return false;
    const { StreamableHTTPError } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    return error instanceof StreamableHTTPError && error.code === 404;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.tools = undefined;
    await client?.close().catch(() => {});
  }
}
