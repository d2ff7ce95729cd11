import type { SignedInState } from "../auth/session.ts";
import type { AgentConfig } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";

/** What the middleware puts on `ctx.state` for the handlers. */
export interface AppState extends SignedInState {
  /** Set first for every request (see `requestIds`). */
  requestId: string;
  /** The logger for this request: every line names its id. */
  log: Logger;
  /** The agent named by `?agent_id=`, when one was named and exists. */
  agent?: AgentConfig;
  /** The ChatKit request type being answered, for the access log. */
  requestType?: string;
  /** The raw `?agent_id=` value, present even when it names no agent. */
  requestedAgentId?: string;
}
