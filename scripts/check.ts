import { checkCommand } from "../src/ops/check.ts";

await checkCommand(process.argv.slice(2));
