import type { Kysely } from "kysely";
import { newId } from "../core/ids.ts";
import type { TokenTotals, UsageRow, UsageStore, UserPeriodTotals } from "./contract.ts";
import type { Database } from "./schema.ts";

/** All agents, in `usage_totals.agent_id`. */
const ALL_AGENTS = "*";

/** The UTC day (`2026-12-02`) and month (`2026-12`) holding `at`: the periods quotas count in. */
export function usagePeriods(at: number): { day: string; month: string } {
  const day = new Date(at).toISOString().slice(0, 10);
  return { day, month: day.slice(0, 7) };
}

export class SqlUsageStore implements UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(fields: Omit<UsageRow, "id">): Promise<UsageRow> {
    const row: UsageRow = { id: newId("usage"), ...fields };
    const tokens = (row.input_tokens ?? 0) + (row.output_tokens ?? 0);
    const turns = row.kind === "turn" ? 1 : 0;
    const { day, month } = usagePeriods(row.started_at);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto("usage_events").values(row).execute();
      const totals = [day, month].flatMap((period) => [ALL_AGENTS, row.agent_id].map((agent_id) => ({ user_id: row.user_id, period, agent_id, tokens, turns })));
      await trx
        .insertInto("usage_totals")
        .values(totals)
        .onConflict((oc) =>
          oc.columns(["user_id", "period", "agent_id"]).doUpdateSet((eb) => ({
            tokens: eb("usage_totals.tokens", "+", eb.ref("excluded.tokens")),
            turns: eb("usage_totals.turns", "+", eb.ref("excluded.turns")),
          })),
        )
        .execute();
    });
    return row;
  }

  async tokensUsed(userId: string, agentId: string, at: number): Promise<TokenTotals> {
    const { day, month } = usagePeriods(at);
    const rows = await this.db
      .selectFrom("usage_totals")
      .select(["period", "agent_id", "tokens"])
      .where("user_id", "=", userId)
      .where("period", "in", [day, month])
      .where("agent_id", "in", [ALL_AGENTS, agentId])
      .execute();
    const of = (period: string, agent: string) => Number(rows.find((row) => row.period === period && row.agent_id === agent)?.tokens ?? 0);
    return { day: of(day, ALL_AGENTS), month: of(month, ALL_AGENTS), agentDay: of(day, agentId), agentMonth: of(month, agentId) };
  }

  async list(filter: { from: number; to: number; userId?: string | undefined }): Promise<UsageRow[]> {
    let query = this.db.selectFrom("usage_events").selectAll().where("started_at", ">=", filter.from).where("started_at", "<", filter.to);
    if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
    return query.orderBy("started_at", "asc").orderBy("id", "asc").execute();
  }

  async monthTotals(at: number): Promise<UserPeriodTotals[]> {
    const rows = await this.db
      .selectFrom("usage_totals")
      .select(["user_id", "tokens", "turns"])
      .where("period", "=", usagePeriods(at).month)
      .where("agent_id", "=", ALL_AGENTS)
      .execute();
    return rows.map((row) => ({ user_id: row.user_id, tokens: Number(row.tokens), turns: Number(row.turns) }));
  }
}
