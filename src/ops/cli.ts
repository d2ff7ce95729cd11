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

/** Runs an operator command with the loaded config and an open store, closing it after. */
export async function withStore(run: (store: Store, config: ChatkitConfig) => Promise<void>): Promise<void> {
  let config: ChatkitConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  const store = await openStore(config.dataDir);
  try {
    await run(store, config);
  } finally {
    await store.close();
  }
}
