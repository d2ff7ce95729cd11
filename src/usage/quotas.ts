import type { ChatkitConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../metrics/index.ts";
import type { QuotaOverrides, Store } from "../store/index.ts";

/** The limits in force for one user: the config's, with an admin's overrides on top. */
export interface UserLimits {
  tokensPerDay: number | null;
  tokensPerMonth: number | null;
  agentTokensPerDay: number | null;
  agentTokensPerMonth: number | null;
  storedBytes: number | null;
  uploadsInFlight: number;
}

/** The first moment of the next UTC day and month after `at`: when token quotas reset. */
export function quotaResets(at: number): { day: number; month: number } {
  const date = new Date(at);
  return {
    day: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1),
    month: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}

const readableUtc = (at: number) => `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/**
 * The quotas (config `quotas`, and per-user overrides): checked before a turn starts and before
 * an upload's bytes are read. Each check is reads by key (a user's totals, their overrides) or,
 * for uploads, one short transaction on the user's counter row: never a scan of their rows, and
 * right with several servers on one database. A refusal is logged and counted in `/metrics`.
 */
export class QuotaService {
  constructor(
    private readonly store: Store,
    private readonly config: ChatkitConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** How long an upload may hold its reservation: the longest a request body may take. */
    private readonly reservationTtlMs: number = config.limits.requestTimeoutMs + 60_000,
  ) {}

  limits(overrides: QuotaOverrides | undefined, agentId?: string): UserLimits {
    const quotas = this.config.quotas;
    const agent = agentId ? quotas.agents[agentId] : undefined;
    return {
      tokensPerDay: overrides?.tokens_per_day ?? quotas.tokensPerDay,
      tokensPerMonth: overrides?.tokens_per_month ?? quotas.tokensPerMonth,
      agentTokensPerDay: agent?.tokensPerDay ?? null,
      agentTokensPerMonth: agent?.tokensPerMonth ?? null,
      storedBytes: overrides?.stored_bytes ?? quotas.storedBytesPerUser,
      uploadsInFlight: overrides?.uploads_in_flight ?? quotas.uploadsInFlightPerUser,
    };
  }

  async limitsFor(userId: string, agentId?: string): Promise<UserLimits> {
    return this.limits(await this.store.quotas.overrides(userId), agentId);
  }

  /**
   * Refuses a turn that would start with the user's tokens for the day or month (all agents, or
   * this agent) used up: an `error` event in the chat saying when the quota resets.
   */
  async requireTokensLeft(user: { id: string; email: string }, agentId: string, log: Logger): Promise<void> {
    const quotas = this.config.quotas;
    // No token quota anywhere (the default): nothing to read.
    if (quotas.tokensPerDay === null && quotas.tokensPerMonth === null && !quotas.agents[agentId] && !(await this.hasOverrides(user.id))) return;
    const now = Date.now();
    const [limits, used] = await Promise.all([this.limitsFor(user.id, agentId), this.store.usage.tokensUsed(user.id, agentId, now)]);
    const resets = quotaResets(now);
    const checks: Array<[string, number | null, number, "day" | "month"]> = [
      ["tokensPerDay", limits.tokensPerDay, used.day, "day"],
      ["tokensPerMonth", limits.tokensPerMonth, used.month, "month"],
      [`agents.${agentId}.tokensPerDay`, limits.agentTokensPerDay, used.agentDay, "day"],
      [`agents.${agentId}.tokensPerMonth`, limits.agentTokensPerMonth, used.agentMonth, "month"],
    ];
    for (const [quota, limit, spent, period] of checks) {
      if (limit === null || spent < limit) continue;
      this.refused(log, quota, `user ${user.email} used ${spent} of ${limit} tokens this ${period}`);
      throw new ChatkitError(429, "token_quota_exceeded", { quota, limit, used: spent, period, resets_at: readableUtc(resets[period]) }, { inChat: true });
    }
  }

  /** Overrides are rare: with no config quota, a user without them costs one read by key. */
  private async hasOverrides(userId: string): Promise<boolean> {
    const overrides = await this.store.quotas.overrides(userId);
    return overrides !== undefined && (overrides.tokens_per_day !== null || overrides.tokens_per_month !== null);
  }

  /** 413 storage_quota_exceeded when `bytes` more would pass the user's stored-bytes quota (a cheap early check, nothing reserved). */
  async requireRoomFor(userId: string, bytes: number): Promise<void> {
    const limits = await this.limitsFor(userId);
    if (limits.storedBytes === null) return;
    const stored = await this.store.quotas.storedBytes(userId);
    if (stored + bytes > limits.storedBytes) {
      this.refused(this.logger, "storedBytesPerUser", `user ${userId} stores ${stored} bytes; ${bytes} more would pass ${limits.storedBytes}`);
      throw new ChatkitError(413, "storage_quota_exceeded", { max_bytes: limits.storedBytes, stored_bytes: stored });
    }
  }

  /**
   * Reserves room for an upload of at most `bytes` before any of it is read: 413
   * storage_quota_exceeded past the stored-bytes quota, 429 too_many_uploads (with Retry-After)
   * past the uploads in flight. Returns the reservation's id, given back when the bytes are stored
   * (`createUploaded` / `markUploaded`) or by `release`.
   */
  async reserveUpload(userId: string, bytes: number): Promise<string> {
    const limits = await this.limitsFor(userId);
    const result = await this.store.quotas.reserveUpload(userId, bytes, { storedBytes: limits.storedBytes, inFlight: limits.uploadsInFlight }, this.reservationTtlMs);
    if (result.ok) return result.id;
    if (result.reason === "uploads_in_flight") {
      this.refused(this.logger, "uploadsInFlightPerUser", `user ${userId} has ${limits.uploadsInFlight} uploads in flight`);
      throw new ChatkitError(429, "too_many_uploads", { retry_after: Math.ceil(result.retryAfterMs / 1000), max_uploads: limits.uploadsInFlight });
    }
    this.refused(this.logger, "storedBytesPerUser", `user ${userId} stores ${result.storedBytes} bytes (+${result.reservedBytes} arriving); ${bytes} more would pass ${limits.storedBytes}`);
    throw new ChatkitError(413, "storage_quota_exceeded", { max_bytes: limits.storedBytes, stored_bytes: result.storedBytes });
  }

  async release(reservationId: string): Promise<void> {
    await this.store.quotas.releaseReservation(reservationId);
  }

  private refused(log: Logger, quota: string, why: string): void {
    this.metrics.quotaRefusals.inc({ quota });
    log.info(`quota ${quota} refused: ${why}`);
  }
}
