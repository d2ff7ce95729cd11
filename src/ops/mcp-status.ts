import type { ChatkitConfig } from "../config/schema.ts";
import { silentLogger } from "../core/logger.ts";
import { McpRegistry, type McpServerStatus } from "../mcp/registry.ts";

/** Asks every agent's MCP servers whether they answer (and with which tools), then disconnects. */
export async function mcpStatusByAgent(config: ChatkitConfig): Promise<Map<string, McpServerStatus[]>> {
  const registry = new McpRegistry(config, silentLogger);
  try {
    const statuses = new Map<string, McpServerStatus[]>();
    for (const agent of config.agents) statuses.set(agent.id, await registry.status(agent));
    return statuses;
  } finally {
    await registry.close();
  }
}

/** One server in a few words: `demo (stdio): demo__echo, demo__add` or `demo (http): no answer: …`. */
export function describeMcpServer(status: McpServerStatus): string {
  return `${status.name} (${status.transport}): ${status.ok ? status.tools!.join(", ") || "no tools" : `no answer: ${status.error}`}`;
}
