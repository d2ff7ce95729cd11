import type { SessionRow } from "../store/index.ts";
import { fail, formatTime, parseCommandArgs, printTable, subcommand, withStore } from "./cli.ts";

const help = `
Usage: npm run --silent sessions -- <command> [options]

  list [--email E]            sessions (all, or one user's): id, email, status, created, expires, last used
  revoke <session-id>         end one session at once
  revoke --email E            end every session of a user (signs out all their browsers and tokens)

New sessions: npm run --silent session -- <email> (bearer token) or
npm run --silent login-link -- <email> (browser).
`;

function statusOf(session: SessionRow, now: number): string {
  if (session.revoked_at !== null) return "revoked";
  if (session.expires_at !== null && session.expires_at <= now) return "expired";
  return "live";
}

export async function sessionsCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(help, { email: { type: "string" } }, argv);
  const command = subcommand(positionals, ["list", "revoke"] as const, help);
  await withStore(async (store) => {
    const user = values.email === undefined ? undefined : await store.users.findByEmail(values.email);
    if (values.email !== undefined && !user) fail(`no user ${values.email}`);

    if (command === "list") {
      const now = Date.now();
      const sessions = (await store.sessions.listAll()).filter((session) => !user || session.user_id === user.id);
      printTable(
        ["ID", "EMAIL", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
        sessions.map((s) => [s.id, s.email, statusOf(s, now), formatTime(s.created_at), formatTime(s.expires_at), formatTime(s.last_used_at)]),
      );
      console.error(`${sessions.length} session(s)`);
      return;
    }

    if (user) {
      const count = await store.sessions.revokeAllForUser(user.id);
      console.log(`revoked ${count} session(s) of ${user.email}`);
      return;
    }
    const sessionId = positionals[1];
    if (!sessionId) fail(`give a session id or --email\n\n${help.trim()}`, 2);
    if (!(await store.sessions.revoke(sessionId))) fail(`no live session ${sessionId} (see: npm run sessions -- list)`);
    console.log(`revoked ${sessionId}`);
  });
}
