import { existsSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { ConfigCompileError, importConfigFile } from "./import.ts";
import { configSchema, type ChatkitConfig, type ChatkitConfigInput } from "./schema.ts";

/** A config that failed validation: one readable line per problem, naming the key. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid config (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Where each environment override lands in the config, for overrides and error messages. */
const ENV_OVERRIDES: Array<{ env: string[]; key: Array<string | number>; parse?: (value: string) => unknown }> = [
  { env: ["HOST"], key: ["server", "host"] },
  { env: ["PORT"], key: ["server", "port"], parse: toNumber },
  { env: ["CHATKIT_DATA_DIR"], key: ["dataDir"] },
  { env: ["CHATKIT_DATABASE_URL"], key: ["database", "url"] },
  { env: ["CHATKIT_COOKIE_KEYS"], key: ["cookieKeys"], parse: commaList },
  { env: ["CHATKIT_API_URL"], key: ["chatkit", "apiUrl"] },
  { env: ["CHATKIT_PK", "CHATKIT_DOMAIN_KEY"], key: ["chatkit", "domainKey"] },
  { env: ["CHATKIT_CLIENT_SECRET"], key: ["chatkit", "clientSecret"] },
  { env: ["CHATKIT_WORKFLOW_ID"], key: ["chatkit", "workflowId"] },
  { env: ["CHATKIT_SCRIPT_URL"], key: ["chatkit", "scriptUrl"] },
  { env: ["CHATKIT_UI"], key: ["pages", "ui"] },
  { env: ["CHATKIT_UPLOAD_MAX_BYTES"], key: ["chatkit", "uploadMaxBytes"], parse: toNumber },
  {
    env: ["CHATKIT_ALLOWED_MIME_TYPES"],
    key: ["chatkit", "allowedMimeTypes"],
    parse: commaList,
  },
  { env: ["OPENAI_API_KEY"], key: ["openai", "apiKey"] },
  { env: ["OPENAI_BASE_URL"], key: ["openai", "baseURL"] },
  { env: ["CHATKIT_SMTP_URL"], key: ["signIn", "email", "smtpUrl"] },
  { env: ["CHATKIT_MAIL_FROM"], key: ["signIn", "email", "from"] },
  // The default agent (the first): a model in one line, e.g. on a local server that speaks only Chat Completions.
  { env: ["CHATKIT_MODEL"], key: ["agents", 0, "model"] },
  { env: ["CHATKIT_API"], key: ["agents", 0, "api"] },
];

function commaList(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

function toNumber(value: string): unknown {
  const trimmed = value.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : value;
}

/** Applies the environment on top of the file's values; the environment wins, as in the seed. */
export function applyEnvOverrides(input: ChatkitConfigInput, env: Env): ChatkitConfigInput {
  let result: unknown = input;
  for (const override of ENV_OVERRIDES) {
    const name = override.env.find((candidate) => env[candidate] !== undefined && env[candidate] !== "");
    if (!name) continue;
    const raw = env[name] as string;
    result = withValueAt(result, override.key, override.parse ? override.parse(raw) : raw);
  }
  return result as ChatkitConfigInput;
}

/**
 * `target` with `value` at `key`, each object or array on the way copied, not cloned: the config
 * holds functions (tools, actions) that must stay as written. An agent index with no agent there
 * is left alone (validation then says the config defines none).
 */
function withValueAt(target: unknown, key: ReadonlyArray<string | number>, value: unknown): unknown {
  const [head, ...rest] = key;
  if (head === undefined) return value;
  if (typeof head === "number") {
    if (!Array.isArray(target) || target[head] === undefined) return target;
    const copy = [...target];
    copy[head] = withValueAt(copy[head], rest, value);
    return copy;
  }
  const current = target && typeof target === "object" ? (target as Record<string, unknown>) : {};
  return { ...current, [head]: withValueAt(current[head], rest, value) };
}

/** Formats a zod path the way a reader writes it: `agents[0].model`. */
export function formatConfigPath(issuePath: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of issuePath) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out || "(root)";
}

function envNameFor(issuePath: ReadonlyArray<PropertyKey>, env: Env): string | undefined {
  const override = ENV_OVERRIDES.find((o) => o.key.every((part, i) => issuePath[i] === part));
  return override?.env.find((name) => env[name] !== undefined && env[name] !== "");
}

function describeIssues(issues: z.core.$ZodIssue[], env: Env): string[] {
  return issues.map((issue) => {
    const where = formatConfigPath(issue.path);
    const fromEnv = envNameFor(issue.path, env);
    return `${where}${fromEnv ? ` (from ${fromEnv})` : ""}: ${issue.message}`;
  });
}

/** Validates a config object (after env overrides). Throws ConfigError listing every problem. */
export function parseConfig(input: unknown, env: Env = {}, source = "config"): ChatkitConfig {
  const withEnv = applyEnvOverrides((input ?? {}) as ChatkitConfigInput, env);
  const parsed = configSchema.safeParse(withEnv);
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error.issues, env));
  return parsed.data;
}

/** The config file in use: `CHATKIT_CONFIG`, else `chatkit.config.ts` in the working directory. */
export function configPath(env: Env = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.CHATKIT_CONFIG || "chatkit.config.ts");
}

/**
 * Loads, overrides and validates the config file. A relative `dataDir` from the file is resolved
 * against the file's folder (a box behaves the same wherever it is started from); one from
 * `CHATKIT_DATA_DIR` against the working directory, as a shell user expects.
 */
export async function loadConfig(env: Env = process.env, cwd = process.cwd()): Promise<ChatkitConfig> {
  const file = configPath(env, cwd);
  if (!existsSync(file)) throw new ConfigError(file, [`config file not found (set CHATKIT_CONFIG or create ${file})`]);
  let module: { default?: unknown };
  try {
    module = await importConfigFile(file);
  } catch (error) {
    throw new ConfigError(file, error instanceof ConfigCompileError ? error.problems : [`could not load: ${(error as Error).message}`]);
  }
  if (module.default === undefined) throw new ConfigError(file, ["(root): the file must `export default defineConfig({...})`"]);
  const config = parseConfig(module.default, env, file);
  const dataDirBase = env.CHATKIT_DATA_DIR ? cwd : path.dirname(file);
  return { ...config, dataDir: path.resolve(dataDirBase, config.dataDir) };
}
