/**
 * The benchmark's data, written straight into a data dir through the store (never over HTTP, so
 * seeding neither costs minutes nor warms the server under test).
 */
import { openStore, type Owner } from "../../src/store/index.ts";
import { LISTER_EMAIL, SEED, STREAMER_EMAIL, seedItem } from "./seed-data.ts";

export interface SeededData {
  listerToken: string;
  streamerToken: string;
  /** The long thread and its items' ids in thread order. */
  bigThreadId: string;
  bigThreadItemIds: string[];
  totalItems: number;
}

/**
 * Seeds `dataDir` (which no server may hold): SEED.threads threads for the lister, the last one
 * created holding SEED.bigThreadItems items (so it is first in a newest-first list), and filler
 * items spread over the others up to `totalItems`; and a session for each of the two users.
 */
export async function seedDataDir(dataDir: string, totalItems = SEED.totalItems, onProgress?: (done: number) => void): Promise<SeededData> {
  const store = await openStore({ dataDir });
  try {
    const session = async (email: string) => {
      const { user } = await store.users.findOrCreate(email);
      return { owner: { userId: user.id, accountId: user.account_id } satisfies Owner, token: (await store.sessions.create(user.id, 1)).token };
    };
    const lister = await session(LISTER_EMAIL);
    const streamer = await session(STREAMER_EMAIL);
    const threadIds: string[] = [];
    for (let i = 0; i < SEED.threads; i++) threadIds.push((await store.threads.create(lister.owner, "assistant", `Seeded thread ${i}`)).id);
    const bigThreadId = threadIds.at(-1)!;
    const fillerThreads = threadIds.slice(0, -1);
    const fillerItems = Math.max(0, totalItems - SEED.bigThreadItems);
    const perFiller = Math.ceil(fillerItems / fillerThreads.length);
    let done = 0;
    const add = async (threadId: string, n: number) => {
      await store.items.add(lister.owner, seedItem(threadId, n));
      if (++done % 5_000 === 0) onProgress?.(done);
    };
    const bigThreadItemIds: string[] = [];
    for (let n = 0; n < SEED.bigThreadItems; n++) {
      await add(bigThreadId, n);
      bigThreadItemIds.push(seedItem(bigThreadId, n).id);
    }
    for (const [index, threadId] of fillerThreads.entries()) {
      const count = Math.min(perFiller, fillerItems - index * perFiller);
      for (let n = 0; n < count; n++) await add(threadId, n);
    }
    return { listerToken: lister.token, streamerToken: streamer.token, bigThreadId, bigThreadItemIds, totalItems: done };
  } finally {
    await store.close();
  }
}
