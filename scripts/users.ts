import { usersCommand } from "../src/ops/users.ts";

await usersCommand(process.argv.slice(2));
