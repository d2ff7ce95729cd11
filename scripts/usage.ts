import { usageCommand } from "../src/ops/usage.ts";

await usageCommand(process.argv.slice(2));
