import { agentsCommand } from "../src/ops/agents.ts";

await agentsCommand(process.argv.slice(2));
