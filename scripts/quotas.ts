import { quotasCommand } from "../src/ops/quotas.ts";

await quotasCommand(process.argv.slice(2));
