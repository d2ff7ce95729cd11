import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { deleteUserAndFiles, exportUserArchive } from "../admin/user-data.ts";
import { attachmentStorageFor } from "../attachments/storage.ts";
import { createLoginLink } from "../auth/login-links.ts";
import { createMailer } from "../auth/mailer.ts";
import { fail, formatTime, parseCommandArgs, printTable, requireEmail, subcommand, withStore } from "./cli.ts";
import { serverBaseUrl } from "./login-link.ts";

const help = `
Usage: npm run --silent users -- <command> [email] [options]

  create <email>              create the user (and an account for it); fine if it exists
  list                        every user: email, role, status, created, id
  invite <email> [--agent ID] create the user if missing and print an invitation link (last line
                              of stdout), valid signIn.invitationHours (72 by default); with
                              SMTP configured (signIn.email) it is mailed to them too
  role <email> <admin|user>   set the user's role (admins manage users through /admin/api/)
  disable <email>             the user's sessions, links and tokens stop working at once
  enable <email>              undo disable
  delete <email> --yes        delete the user and everything of theirs: threads, items, files,
                              sessions, identities, usage rows (not kept), quota overrides
  export <email> [--out FILE] write the user's data as one .tar.gz (threads as the protocol's
                              JSON, every file); to stdout when no --out is given

To sign a user in: npm run --silent login-link -- <email> (browser) or
npm run --silent session -- <email> (bearer token). To end a user's sessions:
npm run sessions -- revoke --email <email>.
`;

export async function usersCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(help, { agent: { type: "string" }, yes: { type: "boolean" }, out: { type: "string" } }, argv);
  const command = subcommand(positionals, ["create", "list", "invite", "role", "disable", "enable", "delete", "export"] as const, help);
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
      const mailer = createMailer(config);
      if (mailer) {
        try {
          await mailer.sendSignInMail({ to: user.email, url, minutes: config.signIn.invitationHours * 60, kind: "invitation" });
        } finally {
          mailer.close();
        }
        console.error(`${created ? "created" : "found"} user ${user.email}; mailed them this link, it works once, until ${new Date(expiresAt).toISOString()}`);
      } else {
        console.error(`${created ? "created" : "found"} user ${user.email}; send them this link, it works once, until ${new Date(expiresAt).toISOString()}`);
      }
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
    if (command === "delete" || command === "export") {
      const user = await store.users.findByEmail(email);
      if (!user) fail(`no user ${email} (see: npm run users -- list)`);
      const files = attachmentStorageFor(config);
      if (command === "export") {
        const out = values.out ? createWriteStream(values.out, { mode: 0o600 }) : process.stdout;
        await pipeline(exportUserArchive(store, files, user), out);
        if (values.out) console.error(`wrote ${user.email}'s data to ${values.out}`);
        return;
      }
      if (!values.yes) fail(`this deletes ${user.email} and everything of theirs for good: add --yes to go ahead (export it first: npm run users -- export ${user.email} --out FILE)`, 2);
      await deleteUserAndFiles(store, files, user.id);
      console.log(`deleted ${user.email} and everything of theirs`);
      return;
    }
    const disable = command === "disable";
    const user = await store.users.setDisabled({ email }, disable);
    if (!user) fail(`no user ${email}; create it with: npm run users -- create ${email}`);
    console.log(`${disable ? "disabled" : "enabled"} ${user.email}`);
  });
}
