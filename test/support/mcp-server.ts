/**
 * A small MCP server written with the official SDK, for the tests and the default config's
 * example. Run as a script it speaks stdio:  node --import tsx test/support/mcp-server.ts
 * Tests also serve it over Streamable HTTP on 127.0.0.1 (`startHttpMcpServer`).
 */
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
  server.registerTool("hang", { description: "Never answers." }, () => new Promise<never>(() => {}));
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
  close(): Promise<void>;
}

/** The same server over Streamable HTTP (stateless: one server per request), on 127.0.0.1. */
export async function startHttpMcpServer(port = 0): Promise<HttpMcpServer> {
  const requests: HttpMcpServer["requests"] = [];
  const http: Server = createServer(async (req, res) => {
    requests.push({ headers: req.headers });
    const mcp = buildTestMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => void transport.close().then(() => mcp.close()));
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildTestMcpServer().connect(new StdioServerTransport());
}
