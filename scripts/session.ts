import { fail, parseCommandArgs, withStore } from "../src/ops/cli.ts";

const help = `
Usage: npm run --silent session -- <email> [--days N]

Creates the user (and an account for it) if missing, then mints a bearer session token and
prints it as the last line of stdout. Use it as "Authorization: Bearer <token>".

  --days N   the session expires after N days (default 30; 0 never expires)
`;

const { values, positionals } = parseCommandArgs(help, { days: { type: "string" } });
const email = positionals[0];
if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) fail(`give the user's email address\n${help}`, 2);
const days = values.days === undefined ? 30 : Number(values.days);
if (!Number.isInteger(days) || days < 0) fail("--days takes a whole number of days (0 = never expires)", 2);

await withStore(async (store) => {
  const { user, created } = await store.users.findOrCreate(email);
  if (user.disabled_at !== null) fail(`user ${user.email} is disabled; enable it first`);
  const { token, session } = await store.sessions.create(user.id, days || null);
  const expiry = session.expires_at ? `expires ${new Date(session.expires_at).toISOString()}` : "never expires";
  console.error(`${created ? "created" : "found"} user ${user.email}; session ${session.id} ${expiry}`);
  console.log(token);
});
