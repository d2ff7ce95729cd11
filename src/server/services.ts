import Keygrip from "keygrip";
import { RunnerRegistry } from "../agents/index.ts";
import { chatCompletionParts, responsesInputParts } from "../attachments/model-input.ts";
import { AttachmentService } from "../attachments/service.ts";
import { attachmentStorageFor, type AttachmentStorage } from "../attachments/storage.ts";
import { startUnsentAttachmentSweeper } from "../attachments/sweep.ts";
import { AuthEvents } from "../auth/events.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { SessionCookie } from "../auth/session-cookie.ts";
import { Authenticator } from "../auth/session.ts";
import { TrustedProxies } from "../auth/trusted-proxies.ts";
import { resolveCookieKeys } from "../config/secrets.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import type { Services } from "../handlers/context.ts";
import { FailureThrottle } from "../limits/throttle.ts";
import { McpRegistry } from "../mcp/registry.ts";
import { UpstreamGate } from "../limits/upstream.ts";
import { Metrics } from "../metrics/index.ts";
import type { Store } from "../store/index.ts";
import { ToolRegistry } from "../tools/run.ts";

export interface ServiceDeps {
  store: Store;
  /** Where attachment bytes live; built from `config.storage` when left out. */
  storage?: AttachmentStorage;
  logger?: Logger;
  /** The MCP connections; whoever passes it in closes it at shutdown (one is made, and closed by `close`, otherwise). */
  mcp?: McpRegistry;
}

/**
 * Every long-lived collaborator of one running box, built once here and handed down: the HTTP
 * routes, the pages and the handlers get what they use from it, never from a lookup of their own.
 * `start` begins the background work (the unsent-upload sweep); `close` ends it.
 */
export class AppServices implements Services {
  readonly store: Store;
  readonly logger: Logger;
  /** Where attachment bytes live. */
  readonly files: AttachmentStorage;
  /** This box's Prometheus metrics (a registry of its own: several apps in one process never share counters). */
  readonly metrics = new Metrics();
  /** The gate on model requests in flight (`limits.upstreamConcurrency`), for every agent, title and voice input. */
  readonly upstream: UpstreamGate;
  /** The config's tools as the tool loop takes them. */
  readonly tools = new ToolRegistry();
  /** The cookie signing keys (newest first), for the session cookie and attachment links. */
  readonly keys: Keygrip;
  readonly sessionCookie: SessionCookie;
  /** `server.trustProxy`: whose forwarded headers and proxy sign-ins are believed. */
  readonly proxies: TrustedProxies;
  /** Sign-ins, failed sign-ins and admin actions: a log line and a count each. */
  readonly authEvents: AuthEvents;
  /** Who a request comes from (session token, app's JWT, proxy header, cookie). */
  readonly auth: Authenticator;
  /** Failed bearer tokens and sign-in links per client address (`limits.failedAuthPerMinute`). */
  readonly failedCredentials: FailureThrottle;
  readonly mcp: McpRegistry;
  readonly attachments: AttachmentService;
  readonly runners: RunnerRegistry;
  private readonly ownsMcp: boolean;
  private sweeper: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    readonly config: ChatkitConfig,
    deps: ServiceDeps,
  ) {
    this.store = deps.store;
    this.logger = deps.logger ?? createLogger(config.server.logFormat);
    this.files = deps.storage ?? attachmentStorageFor(config);
    this.upstream = new UpstreamGate(config.limits.upstreamConcurrency);
    this.keys = new Keygrip(resolveCookieKeys(config), "sha256");
    this.sessionCookie = new SessionCookie(config, this.keys);
    this.proxies = new TrustedProxies(config.server.trustProxy);
    this.authEvents = new AuthEvents(this.metrics, this.logger);
    this.auth = new Authenticator({
      config,
      store: this.store,
      sessionCookie: this.sessionCookie,
      jwt: new JwtVerifier(config.signIn.jwt),
      proxies: this.proxies,
      events: this.authEvents,
    });
    this.failedCredentials = new FailureThrottle(config.limits.failedAuthPerMinute);
    this.ownsMcp = !deps.mcp;
    this.mcp = deps.mcp ?? new McpRegistry(config, this.logger);
    this.attachments = new AttachmentService({
      files: this.files,
      store: this.store.attachments,
      keys: this.keys,
      limits: { maxBytes: config.chatkit.uploadMaxBytes, allowedMimeTypes: config.chatkit.allowedMimeTypes },
    });
    const files = this.files;
    this.runners = new RunnerRegistry(config, {
      responses: (attachments, options) => responsesInputParts(files, attachments, options),
      chat: (attachments, options) => chatCompletionParts(files, attachments, options),
    }, { gate: this.upstream, metrics: this.metrics });
  }

  /** Starts the background work: the sweep of uploads never sent (`chatkit.unsentAttachmentTtlHours`). Once only. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.sweeper = startUnsentAttachmentSweeper(this.store.attachments, this.files, this.config.chatkit.unsentAttachmentTtlHours, this.logger);
  }

  /** Stops the background work and closes the MCP connections made here. The store stays open: its opener closes it. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (this.ownsMcp) await this.mcp.close();
  }
}

/** The services of a box running with `config` (see `AppServices`). */
export function createServices(config: ChatkitConfig, deps: ServiceDeps): AppServices {
  return new AppServices(config, deps);
}
