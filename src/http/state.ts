import type { AgentConfig } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";
import type { Owner, SessionRow, UserRow } from "../store/index.ts";

/** What the middleware puts on `ctx.state` for the handlers. */
export interface AppState {
  /** Set first for every request (see `requestIds`). */
  requestId: string;
  /** The logger for this request: every line names its id. */
  log: Logger;
  user: UserRow;
  session: SessionRow;
  owner: Owner;
  /** How the caller authenticated; cookie sessions get cross-site checks. */
  authVia: "bearer" | "cookie";
  /** The agent named by `?agent_id=`, when one was named and exists. */
  agent?: AgentConfig;
  /** The ChatKit request type being answered, for the access log. */
  requestType?: string;
  /** The raw `?agent_id=` value, present even when it names no agent. */
  requestedAgentId?: string;
}
