export { configSchema, DEFAULT_SCRIPT_URL } from "./schema.ts";
export type { ChatkitConfig, ChatkitConfigInput, AgentConfig } from "./schema.ts";
export { loadConfig, parseConfig, configPath, ConfigError } from "./load.ts";
