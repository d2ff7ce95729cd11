// The package's public entry: what a config file or a host app imports.
export { defineConfig, type AgentDefinition, type ConfigDefinition } from "./agents/define-config.ts";
export type { ChatkitConfig, ChatkitConfigInput, AgentConfig } from "./config/schema.ts";
export { loadConfig, parseConfig, ConfigError } from "./config/load.ts";
export { localModelAgent, LOCAL_MODEL_SERVERS, type LocalModelServer } from "./config/presets.ts";
export { createApp, createHttpServer, ChatkitApp, type AppDeps } from "./server/app.ts";
export { createServices, AppServices, type ServiceDeps } from "./server/services.ts";
export { recoverInterruptedUploads } from "./attachments/sweep.ts";
export { AttachmentFiles } from "./attachments/files.ts";
export { openStore, type Store } from "./store/index.ts";
// Tools, actions and widgets for `chatkit.config.ts`.
export { defineTool, defineAction } from "./tools/define.ts";
export { browserTools } from "./tools/browser.ts";
export type {
  ToolDefinition,
  ServerTool,
  ClientTool,
  ToolContext,
  ToolDisplay,
  ActionDefinition,
  ActionContext,
  StreamingContext,
  WidgetHandle,
  StructuredInputQuestion,
} from "./tools/define.ts";
// Agents as code: a `respond` function, or an Agents SDK agent whose tools get the ChatKit helpers.
export type { RespondFunction, RespondTurn, RespondInput, TaskHandle } from "./agents/respond-function.ts";
export type { ChatKitAgentContext } from "./agents/sdk/context.ts";
export type { ModelMessage } from "./agents/runner.ts";
export { widget, action, type WidgetRoot, type WidgetComponent, type WidgetAction, type ActionOptions } from "./widgets/builder.ts";
export { diffWidget, replaceComponent } from "./widgets/diff.ts";
export type { Source, WidgetItem, ThreadItem } from "./protocol/items.ts";
export { ChatkitError } from "./core/errors.ts";
// The zod the config's schemas are checked with, so a config needs no second copy.
export { z } from "zod";
