/**
 * A small MCP server written with the official SDK, for the tests and the default config's
 * example. Run as a script it speaks stdio:  node --import tsx test/support/mcp-server.ts
 * Tests also serve it over Streamable HTTP on 127.0.0.1 (`startHttpMcpServer`).
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

export function buildTestMcpServer(): McpServer {
  const server = new McpServer({ name: "chatkit-box-demo", version: "1.0.0" });
  /** Calls of `after_cancel` waiting for a hung call to be cancelled. */
  const waitingForCancel: Array<() => void> = [];
  server.registerTool(
    "echo",
    { title: "Echo", description: "Says back the text it is given.", inputSchema: { text: z.string().default("hello").describe("What to say back") } },
    async ({ text: said }) => text(`echo: ${said}`),
  );
  server.registerTool(
    "add",
    { title: "Add", description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => text(String(a + b)),
  );
  server.registerTool("whoami", { description: "Tells which server process answers (its process id)." }, async () => text(`pid ${process.pid}`));
  server.registerTool("fail", { description: "Always reports an error." }, async () => ({ ...text("this tool always fails"), isError: true }));
  server.registerTool("hang", { description: "Never answers." }, ({ signal }) => {
    signal.addEventListener("abort", () => waitingForCancel.splice(0).forEach((answer) => answer()), { once: true });
    return new Promise<never>(() => {});
  });
  server.registerTool(
    "after_cancel",
    { description: "Answers once the client cancels a hung call on this server (so it is in flight while that call times out)." },
    () => new Promise((resolve) => waitingForCancel.push(() => resolve(text("a hung call was cancelled")))),
  );
  server.registerTool("crash", { description: "Stops the server process (stdio only)." }, async () => {
    setImmediate(() => process.exit(3));
    return new Promise<never>(() => {});
  });
  return server;
}

export interface HttpMcpServer {
  url: string;
  /** Requests received, for asserting on headers. */
  requests: Array<{ headers: Record<string, string | string[] | undefined> }>;
  /** Sessions opened (each one an `initialize`). */
  sessions: number;
  close(): Promise<void>;
}

/**
 * The same server over Streamable HTTP on 127.0.0.1, one server per session as most remote MCP
 * servers keep one. A restarted server (same port) has forgotten every session and answers 404.
 */
export async function startHttpMcpServer(port = 0): Promise<HttpMcpServer> {
  const requests: HttpMcpServer["requests"] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer(async (req, res) => {
    requests.push({ headers: req.headers });
    const sessionId = req.headers["mcp-session-id"];
    let transport = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    if (sessionId && !transport) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }));
      return;
    }
    if (!transport) {
      const opened = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          sessions.set(id, opened);
          result.sessions++;
        },
      });
      opened.onclose = () => opened.sessionId && sessions.delete(opened.sessionId);
      await buildTestMcpServer().connect(opened);
      transport = opened;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  const result: HttpMcpServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    sessions: 0,
    async close() {
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildTestMcpServer().connect(new StdioServerTransport());
}
