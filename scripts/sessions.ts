import { sessionsCommand } from "../src/ops/sessions.ts";

await sessionsCommand(process.argv.slice(2));
