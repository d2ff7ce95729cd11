import { describeUpstream } from "../agents/upstream.ts";
import { describeMcpServer, mcpStatusByAgent } from "./mcp-status.ts";
import { loadConfigOrFail, parseCommandArgs, printTable, subcommand } from "./cli.ts";

const help = `
Usage: npm run --silent agents [-- list]

Lists the agents the config defines: id, name, model, and where answers come from (the
built-in local responder when no API key reaches the agent, else the model upstream), and its
MCP servers with whether they answer now.
`;

export async function agentsCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(help, {}, argv);
  if (positionals.length > 0) subcommand(positionals, ["list"] as const, help);
  const config = await loadConfigOrFail();
  const mcp = await mcpStatusByAgent(config);
  printTable(
    ["ID", "NAME", "MODEL", "ANSWERS FROM", "PAGE", "MCP SERVERS"],
    config.agents.map((agent) => {
      const servers = mcp.get(agent.id)!.map(describeMcpServer).join("; ") || "-";
      return [agent.id, agent.name, agent.model ?? (agent.respond ? "(respond)" : "(Agents SDK)"), describeUpstream(config, agent), `/agents/${agent.id}/chatkit`, servers];
    }),
  );
}
