import { restoreCommand } from "../src/ops/backup.ts";

await restoreCommand(process.argv.slice(2));
