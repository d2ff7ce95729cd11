import { createHash } from "node:crypto";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import type { AgentConfig, ChatkitConfig, McpServerConfig } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";
import type { ResolvedTool, ToolOutcome } from "../tools/run.ts";
import { McpConnection } from "./connection.ts";

const NAME_LIMIT = 64;
let validators: Promise<jsonSchemaValidator> | undefined;
/** The SDK's ajv-backed validator, loaded with the first listing rather than at start-up. */
const schemaValidators = () => (validators ??= import("@modelcontextprotocol/sdk/validation/ajv").then(({ AjvJsonSchemaValidator }) => new AjvJsonSchemaValidator()));

/** `<server>__<tool>` in the characters and length function names allow; a hash keeps shortened names apart. */
export function namespacedToolName(server: string, tool: string): string {
  const name = `${server}__${tool.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  if (name.length <= NAME_LIMIT) return name;
  const hash = createHash("sha256").update(`${server}\0${tool}`).digest("hex").slice(0, 8);
  return `${name.slice(0, NAME_LIMIT - 9)}_${hash}`;
}

/** What the model reads back: the text parts, else the structured content; other parts are named. */
export function callResultText(result: CallToolResult): string {
  const parts = (result.content ?? []).map((part) => {
    if (part.type === "text") return part.text;
    if (part.type === "resource") return "text" in part.resource ? part.resource.text : `[resource ${part.resource.uri}]`;
    if (part.type === "resource_link") return `[resource ${part.uri}]`;
    return `[${part.type} content]`;
  });
  if (parts.length) return parts.join("\n");
  return result.structuredContent ? JSON.stringify(result.structuredContent) : "";
}

const needsApproval = (config: McpServerConfig, tool: string) =>
  config.requireApproval === true || (Array.isArray(config.requireApproval) && config.requireApproval.includes(tool));

export interface McpServerStatus {
  name: string;
  transport: "stdio" | "http";
  ok: boolean;
  /** The tools offered (after the allow-list) when it answered, else why not. */
  tools?: string[];
  error?: string;
}

/**
 * Every MCP server of the config, each connected once for the whole box (agent-only servers
 * per agent), and their tools as the tool loop takes them.
 */
export class McpRegistry {
  private readonly connections = new Map<string, McpConnection>();
  /** Each listing's tools resolved once (schemas compiled once), not once per turn; a new listing replaces its entry. */
  private readonly resolvedLists = new WeakMap<Tool[], ResolvedTool[]>();

  constructor(
    private readonly config: ChatkitConfig,
    private readonly logger: Logger,
  ) {}

  /** The box-wide servers, then the agent's own. */
  serversOf(agent: AgentConfig): McpConnection[] {
    const servers = [
      ...Object.entries(this.config.mcpServers).map(([name, config]) => ({ key: name, name, config })),
      ...Object.entries(agent.mcpServers).map(([name, config]) => ({ key: `${agent.id}/${name}`, name, config })),
    ];
    return servers.map(({ key, name, config }) => {
      let connection = this.connections.get(key);
      if (!connection) {
        connection = new McpConnection(name, config, this.logger);
        this.connections.set(key, connection);
      }
      return connection;
    });
  }

  /**
   * The agent's MCP tools for this turn. A server that cannot be reached is left out (and
   * logged): the turn goes on with the tools that answer.
   */
  async toolsFor(agent: AgentConfig): Promise<ResolvedTool[]> {
    const lists = await Promise.all(
      this.serversOf(agent).map(async (connection) => {
        try {
          return await this.offered(connection, await connection.listTools());
        } catch (error) {
          this.logger.error(`MCP server "${connection.name}" did not list its tools`, error);
          return [];
        }
      }),
    );
    const seen = new Set<string>();
    return lists.flat().filter((tool) => !seen.has(tool.name) && seen.add(tool.name));
  }

  /** Whether listing the agent's tools now waits for a server to connect (or start). */
  needsConnecting(agent: AgentConfig): boolean {
    return this.serversOf(agent).some((connection) => connection.needsConnecting);
  }

  /** Each server of the agent: does it answer, and with which tools. */
  async status(agent: AgentConfig): Promise<McpServerStatus[]> {
    return Promise.all(
      this.serversOf(agent).map(async (connection): Promise<McpServerStatus> => {
        const transport = "url" in connection.config ? "http" : "stdio";
        try {
          const tools = (await this.offered(connection, await connection.listTools())).map((tool) => tool.name);
          return { name: connection.name, transport, ok: true, tools };
        } catch (error) {
          return { name: connection.name, transport, ok: false, error: (error as Error).message };
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
  }

  private async offered(connection: McpConnection, tools: Tool[]): Promise<ResolvedTool[]> {
    let resolved = this.resolvedLists.get(tools);
    if (!resolved) {
      const allowed = connection.config.tools;
      const validators = await schemaValidators();
      resolved = tools.filter((tool) => !allowed || allowed.includes(tool.name)).map((tool) => this.resolve(connection, tool, validators));
      this.resolvedLists.set(tools, resolved);
    }
    return resolved;
  }

  private resolve(connection: McpConnection, tool: Tool, validators: jsonSchemaValidator): ResolvedTool {
    const { $schema: _ignored, ...parameters } = tool.inputSchema as Record<string, unknown>;
    const validate = validators.getValidator<Record<string, unknown>>(tool.inputSchema as never);
    const title = tool.annotations?.title ?? tool.title ?? tool.name;
    return {
      name: namespacedToolName(connection.name, tool.name),
      description: tool.description ?? title,
      parameters,
      validate(json) {
        const result = validate(json);
        return result.valid ? { ok: true, value: result.data } : { ok: false, error: result.errorMessage };
      },
      title: () => `${title} (${connection.name})`,
      display: "workflow",
      requireApproval: needsApproval(connection.config, tool.name),
      run: async (args, context): Promise<ToolOutcome> => {
        try {
          const result = await connection.callTool(tool.name, args as Record<string, unknown>, context.signal);
          const text = callResultText(result);
          return result.isError ? { ok: false, error: text || "the tool reported an error" } : { ok: true, output: text };
        } catch (error) {
          if (context.signal.aborted) throw error;
          return { ok: false, error: `MCP server "${connection.name}" failed: ${(error as Error).message}` };
        }
      },
    };
  }
}
