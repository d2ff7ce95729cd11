import { backupCommand } from "../src/ops/backup.ts";

await backupCommand(process.argv.slice(2));
