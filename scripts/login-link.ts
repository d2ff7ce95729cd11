import { createLoginLink } from "../src/auth/login-links.ts";
import { serverBaseUrl } from "../src/ops/login-link.ts";
import { fail, parseCommandArgs, requireEmail, withStore } from "../src/ops/cli.ts";

const help = `
Usage: npm run --silent login-link -- <email> [--agent ID] [--minutes N]

Creates the user (and an account for it) if missing, then prints a one-time sign-in URL as the
last line of stdout. Opening it in a browser signs that browser in (a session cookie) and lands
on the agent's chat page. The link works once and expires after a few minutes.

  --agent ID    the agent whose chat page to open (default: the first configured agent)
  --minutes N   how long the link stays valid (default: signIn.linkMinutes from the config, 15)

The URL starts with server.publicUrl when the config sets it, else http://<host>:<port>.
`;

const { values, positionals } = parseCommandArgs(help, { agent: { type: "string" }, minutes: { type: "string" } });
const email = requireEmail(positionals[0], help);

await withStore(async (store, config) => {
  const agentId = values.agent ?? null;
  if (agentId !== null && !config.agents.some((agent) => agent.id === agentId)) {
    fail(`no agent "${agentId}" in the config; configured: ${config.agents.map((agent) => agent.id).join(", ")}`, 2);
  }
  const minutes = values.minutes === undefined ? config.signIn.linkMinutes : Number(values.minutes);
  if (!Number.isInteger(minutes) || minutes <= 0 || minutes > 24 * 60) fail("--minutes takes a whole number from 1 to 1440", 2);
  const { user, created } = await store.users.findOrCreate(email);
  if (user.disabled_at !== null) fail(`user ${user.email} is disabled; enable it first (npm run users -- enable ${user.email})`);
  const { url, expiresAt } = await createLoginLink(store, serverBaseUrl(config), user, { agentId, ttlMs: minutes * 60_000 });
  console.error(`${created ? "created" : "found"} user ${user.email}; the link works once, until ${new Date(expiresAt).toISOString()}`);
  console.log(url);
});
