import { fail, formatTime, parseCommandArgs, printTable, requireEmail, subcommand, withStore } from "./cli.ts";

const help = `
Usage: npm run --silent users -- <command> [email]

  create <email>    create the user (and an account for it); fine if it exists
  list              every user: email, status, created, id
  disable <email>   the user's sessions and login links stop working at once
  enable <email>    undo disable

To sign a user in: npm run --silent login-link -- <email> (browser) or
npm run --silent session -- <email> (bearer token).
`;

export async function usersCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(help, {}, argv);
  const command = subcommand(positionals, ["create", "list", "disable", "enable"] as const, help);
  await withStore(async (store) => {
    if (command === "list") {
      const users = await store.users.list();
      printTable(
        ["EMAIL", "STATUS", "CREATED", "ID"],
        users.map((user) => [user.email, user.disabled_at === null ? "active" : "disabled", formatTime(user.created_at), user.id]),
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
    const disable = command === "disable";
    const user = await store.users.setDisabled({ email }, disable);
    if (!user) fail(`no user ${email}; create it with: npm run users -- create ${email}`);
    console.log(`${disable ? "disabled" : "enabled"} ${user.email}`);
  });
}
