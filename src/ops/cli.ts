import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { openStore, type Store } from "../store/index.ts";

/** Prints `help` for --help, exits 2 with a one-line message on bad arguments. */
export function parseCommandArgs<T extends ParseArgsConfig["options"]>(help: string, options: T, argv = process.argv.slice(2)) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(help.trim());
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${help.trim()}`, 2);
  }
}

export function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}

/** The loaded config, or exit 1 with its problems (one line each). */
export async function loadConfigOrFail(): Promise<ChatkitConfig> {
  try {
    return await loadConfig();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
}

/** Runs an operator command with the loaded config and an open store, closing it after. */
export async function withStore(run: (store: Store, config: ChatkitConfig) => Promise<void>): Promise<void> {
  const config = await loadConfigOrFail();
  const store = await openStore(config);
  try {
    await run(store, config);
  } finally {
    await store.close();
  }
}

/** The first positional as a subcommand among `known`, or exit 2 with the help. */
export function subcommand<T extends string>(positionals: string[], known: readonly T[], help: string): T {
  const name = positionals[0];
  if (name && (known as readonly string[]).includes(name)) return name as T;
  fail(`${name ? `unknown command "${name}"` : "give a command"}: ${known.join(", ")}\n\n${help.trim()}`, 2);
}

/** An email address argument, or exit 2 with the help. */
export function requireEmail(value: string | undefined, help: string): string {
  if (!value || !/^[^\s@]+@[^\s@]+$/.test(value)) fail(`give the user's email address\n\n${help.trim()}`, 2);
  return value;
}

/** A timestamp for tables: ISO without milliseconds, or "-". */
export function formatTime(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Prints rows as aligned columns under a header. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
