// The package's public entry: what a config file or a host app imports.
export { defineConfig } from "./config/schema.ts";
export type { ChatkitConfig, ChatkitConfigInput, AgentConfig } from "./config/schema.ts";
export { loadConfig, parseConfig, ConfigError } from "./config/load.ts";
export { createApp, type AppDeps } from "./http/app.ts";
export { openStore, type Store } from "./store/index.ts";
