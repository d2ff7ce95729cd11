import { createLoginLink } from "../auth/login-links.ts";
import { fail, formatTime, parseCommandArgs, printTable, requireEmail, subcommand, withStore } from "./cli.ts";
import { serverBaseUrl } from "./login-link.ts";

const help = `
Usage: npm run --silent users -- <command> [email] [options]

  create <email>              create the user (and an account for it); fine if it exists
  list                        every user: email, role, status, created, id
  invite <email> [--agent ID] create the user if missing and print an invitation link (last line
                              of stdout), valid signIn.invitationHours (72 by default)
  role <email> <admin|user>   set the user's role (admins manage users through /admin/api/)
  disable <email>             the user's sessions, links and tokens stop working at once
  enable <email>              undo disable

To sign a user in: npm run --silent login-link -- <email> (browser) or
npm run --silent session -- <email> (bearer token). To end a user's sessions:
npm run sessions -- revoke --email <email>.
`;

export async function usersCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(help, { agent: { type: "string" } }, argv);
  const command = subcommand(positionals, ["create", "list", "invite", "role", "disable", "enable"] as const, help);
  await withStore(async (store, config) => {
    if (command === "list") {
      const users = await store.users.list();
      printTable(
        ["EMAIL", "ROLE", "STATUS", "CREATED", "ID"],
        users.map((user) => [user.email, user.role, user.disabled_at === null ? "active" : "disabled", formatTime(user.created_at), user.id]),
      );
      console.error(`${users.length} user(s)`);
      return;
    }
    const email = requireEmail(positionals[1], help);
    if (command === "create") {
      const { user, created } = await store.users.findOrCreate(email);
      console.log(`${created ? "created" : "already exists:"} ${user.email} (${user.id})`);
      return;
    }
    if (command === "invite") {
      const agentId = values.agent ?? null;
      if (agentId !== null && !config.agents.some((agent) => agent.id === agentId)) fail(`no agent "${agentId}" in the config`, 2);
      const { user, created } = await store.users.findOrCreate(email);
      if (user.disabled_at !== null) fail(`user ${user.email} is disabled; enable it first (npm run users -- enable ${user.email})`);
      const { url, expiresAt } = await createLoginLink(store, serverBaseUrl(config), user, { agentId, ttlMs: config.signIn.invitationHours * 3_600_000 });
      console.error(`${created ? "created" : "found"} user ${user.email}; send them this link, it works once, until ${new Date(expiresAt).toISOString()}`);
      console.log(url);
      return;
    }
    if (command === "role") {
      const role = positionals[2];
      if (role !== "admin" && role !== "user") fail(`give the role: admin or user\n\n${help.trim()}`, 2);
      const user = await store.users.setRole({ email }, role);
      if (!user) fail(`no user ${email}; create it with: npm run users -- create ${email}`);
      console.log(`${user.email} is now ${role === "admin" ? "an admin" : "a user"}`);
      return;
    }
    const disable = command === "disable";
    const user = await store.users.setDisabled({ email }, disable);
    if (!user) fail(`no user ${email}; create it with: npm run users -- create ${email}`);
    console.log(`${disable ? "disabled" : "enabled"} ${user.email}`);
  });
}
