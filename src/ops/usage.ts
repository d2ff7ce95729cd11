import { reportPeriod } from "../admin/operator-api.ts";
import { summarizeUsage, usageCsv } from "../usage/report.ts";
import { fail, parseCommandArgs, printTable, withStore } from "./cli.ts";

const help = `
Usage: npm run --silent usage -- [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--user EMAIL] [--by-day] [--csv]

Tokens and turns by user, agent, model and kind (turn, title, transcription), as the upstream
reported them, for the UTC days from..to (both included; the last 30 days by default).
"unreported" counts rows whose upstream reported no usage: their tokens are not in the sums.
  --user EMAIL  only this user
  --by-day      one row per day as well
  --csv         CSV instead of a table (the admin page's export has the same columns)
`;

export async function usageCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(help, { from: { type: "string" }, to: { type: "string" }, user: { type: "string" }, "by-day": { type: "boolean" }, csv: { type: "boolean" } }, argv);
  let period: { from: number; to: number };
  try {
    period = reportPeriod({ from: values.from, to: values.to });
  } catch (error) {
    fail(`${(error as { details?: { issues?: Array<{ message: string }> } }).details?.issues?.[0]?.message ?? "bad period"}\n\n${help.trim()}`, 2);
  }
  await withStore(async (store) => {
    const users = await store.users.list();
    const user = values.user ? users.find((row) => row.email === values.user!.trim().toLowerCase()) : undefined;
    if (values.user && !user) fail(`no user ${values.user}`);
    const emails = new Map(users.map((row) => [row.id, row.email]));
    const rows = summarizeUsage(await store.usage.list({ ...period, userId: user?.id }), (id) => emails.get(id) ?? `(deleted ${id})`, values["by-day"] ?? false);
    if (values.csv) {
      process.stdout.write(usageCsv(rows));
      return;
    }
    const header = [...(values["by-day"] ? ["DAY"] : []), "USER", "AGENT", "MODEL", "KIND", "COUNT", "INPUT", "OUTPUT", "REASONING", "CACHED", "UNREPORTED", "FAILED"];
    printTable(
      header,
      rows.map((row) => [...(values["by-day"] ? [row.day] : []), row.user, row.agent, row.model, row.kind, ...[row.count, row.input_tokens, row.output_tokens, row.reasoning_tokens, row.cached_tokens, row.unreported, row.failed].map(String)]),
    );
    console.error(`${new Date(period.from).toISOString().slice(0, 10)} to ${new Date(period.to - 1).toISOString().slice(0, 10)} (UTC)`);
  });
}
