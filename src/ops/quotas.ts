import { QuotaService } from "../usage/quotas.ts";
import { fail, parseCommandArgs, printTable, requireEmail, subcommand, withStore } from "./cli.ts";
import { Metrics } from "../metrics/index.ts";
import { silentLogger } from "../core/logger.ts";

const help = `
Usage: npm run --silent quotas -- <command> [email] [options]

  list                    the config's quotas and every user's overrides
  show <email>            the limits in force for one user, and what they used today and this month
  set <email> [--tokens-per-day N] [--tokens-per-month N] [--stored-bytes N] [--uploads-in-flight N]
                          override the config for one user ("default" puts a limit back to the config's)
  clear <email>           remove the user's overrides

Quotas are configured under quotas.* in chatkit.config.ts; admins also set overrides on /admin.
`;

const KEYS = [
  ["tokens-per-day", "tokens_per_day"],
  ["tokens-per-month", "tokens_per_month"],
  ["stored-bytes", "stored_bytes"],
  ["uploads-in-flight", "uploads_in_flight"],
] as const;

const show = (value: number | null) => (value === null ? "-" : String(value));

export async function quotasCommand(argv: string[]): Promise<void> {
  const options = Object.fromEntries(KEYS.map(([flag]) => [flag, { type: "string" as const }]));
  const { positionals, values } = parseCommandArgs(help, options, argv);
  const command = subcommand(positionals, ["list", "show", "set", "clear"] as const, help);
  await withStore(async (store, config) => {
    if (command === "list") {
      const q = config.quotas;
      console.log(`config: tokensPerDay ${show(q.tokensPerDay)}, tokensPerMonth ${show(q.tokensPerMonth)}, storedBytesPerUser ${show(q.storedBytesPerUser)}, uploadsInFlightPerUser ${q.uploadsInFlightPerUser}`);
      for (const [agent, limits] of Object.entries(q.agents)) console.log(`agent ${agent}: tokensPerDay ${show(limits.tokensPerDay)}, tokensPerMonth ${show(limits.tokensPerMonth)}`);
      const users = new Map((await store.users.list()).map((user) => [user.id, user.email]));
      const overrides = await store.quotas.listOverrides();
      printTable(["EMAIL", "TOKENS/DAY", "TOKENS/MONTH", "STORED BYTES", "UPLOADS IN FLIGHT"], overrides.map((row) => [users.get(row.user_id) ?? row.user_id, show(row.tokens_per_day), show(row.tokens_per_month), show(row.stored_bytes), show(row.uploads_in_flight)]));
      console.error(`${overrides.length} user(s) with overrides ("-": the config's)`);
      return;
    }
    const email = requireEmail(positionals[1], help);
    const user = await store.users.findByEmail(email);
    if (!user) fail(`no user ${email} (see: npm run users -- list)`);
    if (command === "show") {
      const limits = await new QuotaService(store, config, new Metrics(), silentLogger).limitsFor(user.id);
      const used = await store.usage.tokensUsed(user.id, "*", Date.now());
      console.log(`${user.email}: tokens today ${used.day} of ${show(limits.tokensPerDay)}, this month ${used.month} of ${show(limits.tokensPerMonth)}; stored bytes ${await store.quotas.storedBytes(user.id)} of ${show(limits.storedBytes)}; uploads in flight at most ${limits.uploadsInFlight}`);
      return;
    }
    const current = (await store.quotas.overrides(user.id)) ?? { tokens_per_day: null, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null };
    const next = { ...current };
    if (command === "clear") for (const [, column] of KEYS) next[column] = null;
    for (const [flag, column] of KEYS) {
      const raw = (values as Record<string, string | undefined>)[flag];
      if (raw === undefined) continue;
      if (raw === "default") next[column] = null;
      else if (/^\d+$/.test(raw) && Number(raw) > 0) next[column] = Number(raw);
      else fail(`--${flag} takes a positive whole number or "default"`, 2);
    }
    await store.quotas.setOverrides(user.id, next);
    console.log(`${user.email}: tokens/day ${show(next.tokens_per_day)}, tokens/month ${show(next.tokens_per_month)}, stored bytes ${show(next.stored_bytes)}, uploads in flight ${show(next.uploads_in_flight)} ("-": the config's)`);
  });
}
