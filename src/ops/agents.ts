import { probeUpstreams } from "../agents/probe.ts";
import { describeUpstream } from "../agents/upstream.ts";
import { describeMcpServer, mcpStatusByAgent } from "./mcp-status.ts";
import { loadConfigOrFail, parseCommandArgs, printTable, subcommand } from "./cli.ts";

const help = `
Usage: npm run --silent agents [-- list]

Lists the agents the config defines: id, name, model, and where answers come from (the
built-in local responder when no API key reaches the agent, else the model upstream, and whether
it answers now: one model listing, or the smallest completion), and its MCP servers with whether
they answer now.
`;

export async function agentsCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(help, {}, argv);
  if (positionals.length > 0) subcommand(positionals, ["list"] as const, help);
  const config = await loadConfigOrFail();
  const [mcp, upstreams] = await Promise.all([mcpStatusByAgent(config), probeUpstreams(config)]);
  printTable(
    ["ID", "NAME", "MODEL", "ANSWERS FROM", "UPSTREAM", "PAGE", "MCP SERVERS"],
    config.agents.map((agent) => {
      const servers = mcp.get(agent.id)!.map(describeMcpServer).join("; ") || "-";
      return [agent.id, agent.name, agent.model ?? (agent.respond ? "(respond)" : "(Agents SDK)"), describeUpstream(config, agent), upstreams.get(agent.id)?.detail ?? "-", `/agents/${agent.id}/chatkit`, servers];
    }),
  );
}
