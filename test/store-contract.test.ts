import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Migrator, sql } from "kysely";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { hashToken, newId } from "../src/core/ids.ts";
import type { ThreadItem, UserMessageItem } from "../src/protocol/items.ts";
import { connectDatabase, openStore, type Owner, type Store, type StoreLocation } from "../src/store/index.ts";
import * as initial from "../src/store/migrations/0001_initial.ts";
import * as loginLinks from "../src/store/migrations/0002_login_links.ts";
import * as itemSequence from "../src/store/migrations/0003_item_sequence.ts";
import * as threadWire from "../src/store/migrations/0004_thread_wire.ts";
import { itemPage, tempDataDir, threadPage } from "./support/app.ts";
import { postgresForTests } from "./support/postgres.ts";

/**
 * One suite, every backend: what src/store/contract.ts promises, held against SQLite and
 * PostgreSQL alike (as kysely runs its tests over a matrix of dialects). Each test opens a fresh
 * database.
 */

const postgres = await postgresForTests();
after(() => postgres.cluster?.stop());

interface Backend {
  name: string;
  location(): Promise<StoreLocation>;
}

const backends: Backend[] = [{ name: "sqlite", location: async () => ({ dataDir: tempDataDir() }) }];
if (postgres.cluster) {
  const cluster = postgres.cluster;
  backends.push({ name: "postgres", location: async () => ({ dataDir: tempDataDir(), database: { url: await cluster.createDatabase(), poolSize: 8 } }) });
} else {
  test.skip(`store contract on postgres: ${postgres.skip}`);
}

function message(threadId: string, text: string, createdAt = monotonicNow()): UserMessageItem {
  return {
    id: newId("message"),
    thread_id: threadId,
    created_at: toIso(createdAt),
    type: "user_message",
    content: [{ type: "input_text", text }],
    attachments: [],
    inference_options: {},
  };
}

const texts = (items: ThreadItem[]) => items.map((item) => (item.type === "user_message" ? (item.content[0] as { text: string }).text : item.type));

for (const backend of backends) {
  describe(`store contract on ${backend.name}`, () => {
    /** Runs `body` with a fresh store and two users. */
    async function withStore(body: (store: Store, alice: Owner, bob: Owner, location: StoreLocation) => Promise<void>): Promise<void> {
      const location = await backend.location();
      const store = await openStore(location);
      try {
        const owner = async (email: string) => {
          const { user } = await store.users.findOrCreate(email);
          return { userId: user.id, accountId: user.account_id };
        };
        await body(store, await owner("alice@example.com"), await owner("bob@example.com"), location);
      } finally {
        await store.close();
      }
    }

    test("migrations run again on an up-to-date database without harm", async () => {
      await withStore(async (store, alice, _bob, location) => {
        await store.threads.create(alice, "assistant");
        const again = await openStore(location);
        assert.equal((await again.counts()).threads, 1);
        await again.close();
      });
    });

    test("upgrading a database from before item sequences and stored thread JSON keeps every thread's items in their old order and lists its threads", async () => {
      const location = await backend.location();
      const { db } = connectDatabase(location);
      try {
        const provider = { getMigrations: async () => ({ "0001_initial": initial, "0002_login_links": loginLinks }) };
        const { error } = await new Migrator({ db, provider }).migrateToLatest();
        assert.equal(error, undefined);
        await db.insertInto("accounts").values({ id: "acct_1", name: "old", created_at: 1 }).execute();
        await sql`INSERT INTO users (id, account_id, email, created_at, disabled_at) VALUES ('usr_1', 'acct_1', 'old@example.com', 1, NULL)`.execute(db);
        for (const [id, title, at] of [["thr_1", null, 1], ["thr_2", "Locked one", 2]] as const) {
          const status = id === "thr_2" ? '{"type":"locked","reason":"old"}' : '{"type":"active"}';
          await sql`INSERT INTO threads (id, account_id, user_id, agent_id, title, status, metadata, created_at, updated_at) VALUES (${id}, 'acct_1', 'usr_1', 'assistant', ${title}, ${status}, '{}', ${at}, ${at})`.execute(db);
        }
        // Inserted out of order; the old order was (created_at, id).
        for (const [id, thread, at] of [["m3", "thr_1", 30], ["m1", "thr_1", 10], ["m2b", "thr_1", 20], ["m2a", "thr_1", 20], ["n1", "thr_2", 5]] as const) {
          await sql`INSERT INTO thread_items (id, thread_id, type, created_at, data) VALUES (${id}, ${thread}, 'user_message', ${at}, ${JSON.stringify(message(thread, id, at))})`.execute(db);
        }
      } finally {
        await db.destroy();
      }
      const store = await openStore(location);
      try {
        const owner = { userId: "usr_1", accountId: "acct_1" };
        assert.deepEqual(texts(await store.items.history(owner, "thr_1")), ["m1", "m2a", "m2b", "m3"]);
        await store.items.add(owner, message("thr_1", "new", 0));
        await store.items.add(owner, message("thr_2", "new", 0));
        assert.deepEqual(texts(await store.items.history(owner, "thr_1")), ["m1", "m2a", "m2b", "m3", "new"]);
        assert.deepEqual(texts(await store.items.history(owner, "thr_2")), ["n1", "new"]);
        const listed = await store.threads.listJson(owner, { limit: 10, order: "asc" });
        assert.deepEqual(
          listed.rows.map((json) => JSON.parse(json)),
          [
            { id: "thr_1", created_at: "1970-01-01T00:00:00.001Z", status: { type: "active" }, metadata: {} },
            { id: "thr_2", created_at: "1970-01-01T00:00:00.002Z", status: { type: "locked", reason: "old" }, metadata: {}, title: "Locked one" },
          ],
        );
      } finally {
        await store.close();
      }
    });

    test("users: emails are normalized, find-or-create makes one user even when called concurrently", async () => {
      await withStore(async (store) => {
        const results = await Promise.all(Array.from({ length: 8 }, () => store.users.findOrCreate("  Carol@Example.COM ")));
        assert.equal(new Set(results.map((r) => r.user.id)).size, 1);
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(results[0]!.user.email, "carol@example.com");
        assert.equal((await store.users.findByEmail("CAROL@example.com"))?.id, results[0]!.user.id);
        assert.equal((await store.users.findById(results[0]!.user.id))?.email, "carol@example.com");
        assert.deepEqual(
          (await store.users.list()).map((u) => u.email),
          ["alice@example.com", "bob@example.com", "carol@example.com"],
        );
        assert.equal(await store.users.setDisabled({ email: "nobody@example.com" }, true), undefined);
        assert.equal(typeof (await store.users.setDisabled({ email: "carol@example.com" }, true))?.disabled_at, "number");
        assert.equal((await store.users.setDisabled({ email: "carol@example.com" }, false))?.disabled_at, null);
        assert.equal((await store.counts()).users, 3);
      });
    });

    test("sessions: a token authenticates until revoked or its user is disabled; the operator's list and counts agree", async () => {
      await withStore(async (store, alice, bob) => {
        const first = await store.sessions.create(alice.userId, 1);
        const second = await store.sessions.create(alice.userId, null);
        const bobs = await store.sessions.create(bob.userId, 30);
        assert.equal(second.session.expires_at, null);
        assert.ok(first.session.expires_at! > Date.now());
        const found = await store.sessions.authenticate(first.token);
        assert.equal(found?.user.id, alice.userId);
        assert.equal(found?.user.account_id, alice.accountId);
        assert.equal(typeof found?.user.created_at, "number");
        assert.equal(await store.sessions.authenticate("not-a-token"), undefined);
        assert.deepEqual(
          (await store.sessions.listAll()).map((s) => [s.id, s.email]),
          [
            [first.session.id, "alice@example.com"],
            [second.session.id, "alice@example.com"],
            [bobs.session.id, "bob@example.com"],
          ],
        );
        assert.equal(await store.sessions.revoke(first.session.id), true);
        assert.equal(await store.sessions.revoke(first.session.id), false);
        assert.equal(await store.sessions.authenticate(first.token), undefined);
        assert.equal((await store.counts()).sessions, 2);
        assert.equal((await store.sessions.authenticate(bobs.token))?.user.id, bob.userId);
        await store.users.setDisabled({ email: "bob@example.com" }, true);
        assert.equal(await store.sessions.authenticate(bobs.token), undefined);
        assert.equal(await store.sessions.revokeAllForUser(alice.userId), 1);
        assert.equal(await store.sessions.authenticate(second.token), undefined);
      });
    });

    test("sessions: a revocation or a disabled user written by another process ends the session as promised", async () => {
      await withStore(async (store, alice, bob, location) => {
        const mine = await store.sessions.create(alice.userId, null);
        const bobs = await store.sessions.create(bob.userId, null);
        assert.ok(await store.sessions.authenticate(mine.token));
        assert.ok(await store.sessions.authenticate(bobs.token));
        // An operator command: its own connection, its own process.
        const operator = await openStore(location);
        try {
          assert.equal(await operator.sessions.revoke(mine.session.id), true);
          await operator.users.setDisabled({ email: "bob@example.com" }, true);
        } finally {
          await operator.close();
        }
        // At once: SQLite sees another connection's commit, and on PostgreSQL nothing is kept between requests.
        assert.equal(await store.sessions.authenticate(mine.token), undefined);
        assert.equal(await store.sessions.authenticate(bobs.token), undefined);
      });
    });

    test("sessions: a user sees their own live sessions and can end all but the current one", async () => {
      await withStore(async (store, alice, bob) => {
        const current = await store.sessions.create(alice.userId, null);
        const other = await store.sessions.create(alice.userId, 30);
        const revoked = await store.sessions.create(alice.userId, null);
        const expired = await store.sessions.create(alice.userId, -1);
        const bobs = await store.sessions.create(bob.userId, null);
        await store.sessions.revoke(revoked.session.id);
        assert.deepEqual(
          (await store.sessions.listLiveFor(alice.userId)).map((s) => s.id),
          [current.session.id, other.session.id],
        );
        assert.equal(await store.sessions.revokeAllForUser(alice.userId, { except: current.session.id }), 1);
        assert.ok(await store.sessions.authenticate(current.token));
        assert.equal(await store.sessions.authenticate(other.token), undefined);
        assert.equal(await store.sessions.authenticate(expired.token), undefined);
        assert.ok(await store.sessions.authenticate(bobs.token));
      });
    });

    test("identities: a new identity with a verified address makes a user; the same identity finds it again; another way in with that address links to it", async () => {
      await withStore(async (store, alice) => {
        const first = await store.identities.signIn({ provider: "jwt:https://app.example", subject: "42", email: "Dana@Example.com", emailVerified: true });
        assert.ok("user" in first);
        assert.equal(first.created, true);
        assert.equal(first.user.email, "dana@example.com");
        assert.equal(first.user.role, "user");
        const again = await store.identities.signIn({ provider: "jwt:https://app.example", subject: "42", email: null, emailVerified: false });
        assert.deepEqual(again, { user: first.user, created: false });
        // The subject, not the address, names the person: a new address on a known identity is the same user.
        const renamed = await store.identities.signIn({ provider: "jwt:https://app.example", subject: "42", email: "dana.new@example.com", emailVerified: true });
        assert.ok("user" in renamed && renamed.user.id === first.user.id);
        // An existing user (made by the operator, before any identity) is linked by verified address.
        const linked = await store.identities.signIn({ provider: "oidc:https://idp.example", subject: "a-1", email: "alice@example.com", emailVerified: true });
        assert.ok("user" in linked);
        assert.deepEqual([linked.user.id, linked.created], [alice.userId, false]);
        const viaLink = await store.identities.signIn({ provider: "email-link", subject: "alice@example.com", email: "alice@example.com", emailVerified: true });
        assert.ok("user" in viaLink && viaLink.user.id === alice.userId);
        assert.deepEqual(
          (await store.identities.listFor(alice.userId)).map((identity) => [identity.provider, identity.subject, identity.email]),
          [["oidc:https://idp.example", "a-1", "alice@example.com"], ["email-link", "alice@example.com", "alice@example.com"]],
        );
        assert.deepEqual(
          (await store.identities.listFor(first.user.id)).map((identity) => [identity.provider, identity.subject, identity.email, typeof identity.last_used_at]),
          [["jwt:https://app.example", "42", "dana.new@example.com", "number"]],
        );
        assert.equal((await store.counts()).users, 3);
      });
    });

    test("identities: without a verified address nobody is created or linked; a disabled user is refused every way in", async () => {
      await withStore(async (store, alice, bob) => {
        assert.deepEqual(await store.identities.signIn({ provider: "proxy", subject: "x", email: null, emailVerified: true }), { refused: "no_email" });
        // An unverified address must not take over (or pre-claim) that address's account.
        assert.deepEqual(await store.identities.signIn({ provider: "oidc:https://idp.example", subject: "evil", email: "alice@example.com", emailVerified: false }), { refused: "no_email" });
        assert.deepEqual(await store.identities.signIn({ provider: "oidc:https://idp.example", subject: "new", email: "new@example.com", emailVerified: false }), { refused: "no_email" });
        assert.deepEqual(await store.identities.listFor(alice.userId), []);
        assert.equal((await store.counts()).users, 2);

        const bobs = await store.identities.signIn({ provider: "jwt:https://app.example", subject: "bob", email: "bob@example.com", emailVerified: true });
        assert.ok("user" in bobs && bobs.user.id === bob.userId);
        await store.users.setDisabled({ id: bob.userId }, true);
        assert.deepEqual(await store.identities.signIn({ provider: "jwt:https://app.example", subject: "bob", email: null, emailVerified: false }), { refused: "disabled" });
        assert.deepEqual(await store.identities.signIn({ provider: "proxy", subject: "bob@example.com", email: "bob@example.com", emailVerified: true }), { refused: "disabled" });
        assert.equal((await store.identities.listFor(bob.userId)).length, 1);
        await store.users.setDisabled({ id: bob.userId }, false);
        assert.ok("user" in (await store.identities.signIn({ provider: "jwt:https://app.example", subject: "bob", email: null, emailVerified: false })));
        await assert.rejects(store.identities.signIn({ provider: "password", subject: "bob", email: null, emailVerified: false }), /unknown sign-in provider/);
      });
    });

    test("identities: concurrent first sign-ins of one identity make one user and one identity", async () => {
      await withStore(async (store) => {
        const claim = { provider: "oidc:https://idp.example", subject: "s-9", email: "erin@example.com", emailVerified: true };
        const results = await Promise.all(Array.from({ length: 8 }, () => store.identities.signIn(claim)));
        const users = results.map((result) => ("user" in result ? result.user.id : result.refused));
        assert.equal(new Set(users).size, 1);
        assert.equal(results.filter((result) => "user" in result && result.created).length, 1);
        assert.equal((await store.identities.listFor(users[0]!)).length, 1);
      });
    });

    test("roles: a user is set admin and back by id or email; the kept sign-ins carry the new role at once", async () => {
      await withStore(async (store, alice) => {
        const { token } = await store.sessions.create(alice.userId, null);
        assert.equal((await store.sessions.authenticate(token))?.user.role, "user");
        assert.equal((await store.users.setRole({ email: "ALICE@example.com" }, "admin"))?.role, "admin");
        assert.equal((await store.sessions.authenticate(token))?.user.role, "admin");
        assert.equal((await store.users.findById(alice.userId))?.role, "admin");
        assert.equal((await store.users.setRole({ id: alice.userId }, "user"))?.role, "user");
        assert.equal((await store.sessions.authenticate(token))?.user.role, "user");
        assert.equal(await store.users.setRole({ id: "usr_nobody" }, "admin"), undefined);
      });
    });

    test("a database from before identities and roles keeps its users, sessions and login links working", async () => {
      const location = await backend.location();
      const { db } = connectDatabase(location);
      try {
        const provider = { getMigrations: async () => ({ "0001_initial": initial, "0002_login_links": loginLinks, "0003_item_sequence": itemSequence, "0004_thread_wire": threadWire }) };
        const { error } = await new Migrator({ db, provider }).migrateToLatest();
        assert.equal(error, undefined);
        await sql`INSERT INTO accounts (id, name, created_at) VALUES ('acct_1', 'old', 1)`.execute(db);
        await sql`INSERT INTO users (id, account_id, email, created_at, disabled_at) VALUES ('usr_1', 'acct_1', 'old@example.com', 1, NULL)`.execute(db);
        await sql`INSERT INTO sessions (id, user_id, token_hash, created_at) VALUES ('ses_1', 'usr_1', ${hashToken("old-token")}, 1)`.execute(db);
        await sql`INSERT INTO login_links (id, user_id, token_hash, created_at, expires_at) VALUES ('lnk_1', 'usr_1', ${hashToken("old-link")}, 1, ${Date.now() + 60_000})`.execute(db);
      } finally {
        await db.destroy();
      }
      const store = await openStore(location);
      try {
        const found = await store.sessions.authenticate("old-token");
        assert.deepEqual(found?.user, { id: "usr_1", account_id: "acct_1", email: "old@example.com", role: "user", created_at: 1, disabled_at: null });
        const consumed = await store.loginLinks.consume("old-link");
        assert.ok(consumed.ok && consumed.user.id === "usr_1");
        const signedIn = await store.identities.signIn({ provider: "email-link", subject: "old@example.com", email: "old@example.com", emailVerified: true });
        assert.ok("user" in signedIn && signedIn.user.id === "usr_1" && !signedIn.created);
      } finally {
        await store.close();
      }
    });

    test("threads: decoded records, isolation by owner and agent, updates", async () => {
      await withStore(async (store, alice, bob) => {
        const thread = await store.threads.create(alice, "assistant", "Hello");
        assert.deepEqual(thread.status, { type: "active" });
        assert.deepEqual(thread.metadata, {});
        assert.deepEqual(await store.threads.get(alice, thread.id), thread);
        assert.equal(await store.threads.get(alice, thread.id, "other-agent"), undefined);
        assert.equal(await store.threads.get(bob, thread.id), undefined);
        assert.equal(await store.threads.get({ userId: alice.userId, accountId: bob.accountId }, thread.id), undefined);
        assert.equal(await store.threads.update(bob, thread.id, { title: "mine now" }), undefined);
        assert.equal(await store.threads.delete(bob, thread.id), undefined);

        const updated = await store.threads.update(alice, thread.id, {
          title: null,
          status: { type: "locked", reason: "done" },
          metadata: { topic: "tests", n: 1 },
        });
        assert.equal(updated?.title, null);
        assert.deepEqual(updated?.status, { type: "locked", reason: "done" });
        assert.deepEqual(updated?.metadata, { topic: "tests", n: 1 });
        assert.ok(updated!.updated_at >= thread.updated_at);
        assert.deepEqual(await store.threads.get(alice, thread.id), updated);
      });
    });

    test("threads: pages walk every thread once in both orders; unknown or foreign cursors give an empty page", async () => {
      await withStore(async (store, alice, bob) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.threads.create(alice, i % 2 ? "other" : "assistant")).id);
        const bobs = await store.threads.create(bob, "assistant");
        for (const order of ["asc", "desc"] as const) {
          const seen: string[] = [];
          let after: string | undefined;
          let pages = 0;
          for (;;) {
            const page = await threadPage(store, alice, { limit: 2, order, after });
            seen.push(...page.rows.map((row) => row.id));
            pages++;
            if (!page.hasMore) break;
            after = page.rows.at(-1)!.id;
          }
          assert.deepEqual(seen, order === "asc" ? ids : [...ids].reverse());
          assert.equal(pages, 3);
        }
        const exact = await threadPage(store, alice, { limit: 5, order: "asc" });
        assert.equal(exact.rows.length, 5);
        assert.equal(exact.hasMore, false);
        const mine = await threadPage(store, alice, { limit: 10, order: "asc", agentId: "assistant" });
        assert.deepEqual(
          mine.rows.map((row) => row.id),
          [ids[0], ids[2], ids[4]],
        );
        assert.deepEqual(await threadPage(store, alice, { limit: 10, order: "asc", after: "thr_unknown" }), { rows: [], hasMore: false });
        assert.deepEqual(await threadPage(store, alice, { limit: 10, order: "asc", after: bobs.id }), { rows: [], hasMore: false });
        assert.deepEqual(await store.threads.listJson(alice, { limit: 10, order: "asc", after: bobs.id }), { rows: [], hasMore: false });
        assert.deepEqual((await store.threads.listJson(bob, { limit: 10, order: "asc" })).rows.length, 1);
        assert.deepEqual(await threadPage(store, alice, { limit: 10, order: "asc", agentId: "assistant", after: ids[1] }), { rows: [], hasMore: false });
        assert.equal((await threadPage(store, bob, { limit: 10, order: "asc" })).rows.length, 1);

        // Every change to what the wire shows is in the stored JSON at once.
        const updated = await store.threads.update(alice, ids[0]!, { title: "Renamed", status: { type: "locked", reason: "done" } });
        assert.equal(updated?.title, "Renamed");
        assert.deepEqual(updated?.status, { type: "locked", reason: "done" });
        const [first] = (await store.threads.listJson(alice, { limit: 1, order: "asc" })).rows;
        assert.deepEqual(JSON.parse(first!), { id: ids[0], created_at: toIso(updated!.created_at), status: { type: "locked", reason: "done" }, metadata: {}, title: "Renamed" });
        assert.equal(await store.threads.update(bob, ids[0]!, { title: "Stolen" }), undefined);
      });
    });

    test("items: the order is the order they were stored, whatever the writers' clocks said", async () => {
      await withStore(async (store, alice) => {
        const thread = await store.threads.create(alice, "assistant");
        const now = Date.now();
        // A second server whose clock is a minute behind writes the second and fourth items.
        for (const [text, at] of [["one", now], ["two", now - 60_000], ["three", now + 1], ["four", now - 59_000]] as const) {
          await store.items.add(alice, message(thread.id, text, at));
        }
        assert.deepEqual(texts(await store.items.history(alice, thread.id)), ["one", "two", "three", "four"]);
        // A turn reads only the newest items, still in thread order.
        assert.deepEqual(texts(await store.items.history(alice, thread.id, { limit: 2 })), ["three", "four"]);
        assert.deepEqual(texts(await store.items.history(alice, thread.id, { limit: 10 })), ["one", "two", "three", "four"]);
        const desc = await itemPage(store, alice, thread.id, { limit: 3, order: "desc" });
        assert.deepEqual(texts(desc.rows), ["four", "three", "two"]);
        assert.equal(desc.hasMore, true);
        const rest = await itemPage(store, alice, thread.id, { limit: 3, order: "desc", after: desc.rows.at(-1)!.id });
        assert.deepEqual(texts(rest.rows), ["one"]);
        assert.equal(rest.hasMore, false);
        assert.deepEqual(await itemPage(store, alice, thread.id, { limit: 3, order: "asc", after: "msg_unknown" }), { rows: [], hasMore: false });
      });
    });

    test("items: save replaces in place or appends; hidden items only when asked; isolation by owner", async () => {
      await withStore(async (store, alice, bob) => {
        const thread = await store.threads.create(alice, "assistant");
        const first = message(thread.id, "first");
        await store.items.add(alice, first);
        const hidden: ThreadItem = { id: newId("sdk_hidden_context"), thread_id: thread.id, created_at: toIso(monotonicNow()), type: "sdk_hidden_context", content: "note" };
        await store.items.add(alice, hidden);
        await store.items.save(alice, message(thread.id, "second"));
        await store.items.save(alice, { ...first, content: [{ type: "input_text", text: "first, edited" }] });
        assert.deepEqual(texts(await store.items.history(alice, thread.id)), ["first, edited", "sdk_hidden_context", "second"]);
        assert.deepEqual(texts((await itemPage(store, alice, thread.id, { limit: 10, order: "asc" })).rows), ["first, edited", "second"]);
        assert.equal((await itemPage(store, alice, thread.id, { limit: 10, order: "asc", includeHidden: true })).rows.length, 3);
        assert.deepEqual(await store.items.get(alice, thread.id, hidden.id), hidden);

        assert.equal(await store.items.get(bob, thread.id, first.id), undefined);
        assert.deepEqual(await itemPage(store, bob, thread.id, { limit: 10, order: "asc" }), { rows: [], hasMore: false });
        assert.deepEqual(await store.items.listJson(bob, thread.id, { limit: 10, order: "asc" }), { rows: [], hasMore: false });
        // Scoped to an agent: another agent's thread reads as empty.
        assert.equal((await store.items.listJson(alice, thread.id, { limit: 10, order: "asc", agentId: "assistant" })).rows.length, 2);
        assert.deepEqual(await store.items.listJson(alice, thread.id, { limit: 10, order: "asc", agentId: "other" }), { rows: [], hasMore: false });
        assert.deepEqual(await store.items.history(bob, thread.id), []);
        assert.deepEqual(await store.items.history(bob, thread.id, { limit: 5 }), []);
        await assert.rejects(store.items.add(bob, message(thread.id, "intruder")));
        await assert.rejects(store.items.save(bob, { ...first, content: [{ type: "input_text", text: "overwritten" }] }));
        await store.items.delete(bob, thread.id, first.id);
        assert.deepEqual(await store.items.deleteAfter(bob, thread.id, first.id), []);
        assert.equal(await store.items.addFeedback(bob, thread.id, [first.id], "negative"), false);
        // An item id of another thread does not move or change when saved into this one.
        const bobsThread = await store.threads.create(bob, "assistant");
        await store.items.save(bob, { ...first, thread_id: bobsThread.id });
        assert.equal(texts(await store.items.history(alice, thread.id))[0], "first, edited");
        assert.deepEqual(await store.items.history(bob, bobsThread.id), []);

        await store.items.delete(alice, thread.id, first.id);
        assert.equal(await store.items.get(alice, thread.id, first.id), undefined);
      });
    });

    test("items: deleteAfter removes what follows the pivot with its feedback; feedback needs every item in the thread", async () => {
      await withStore(async (store, alice, _bob, location) => {
        const thread = await store.threads.create(alice, "assistant");
        const other = await store.threads.create(alice, "assistant");
        const items = ["a", "b", "c", "d"].map((text) => message(thread.id, text));
        for (const item of items) await store.items.add(alice, item);
        const elsewhere = message(other.id, "elsewhere");
        await store.items.add(alice, elsewhere);
        assert.equal(await store.items.addFeedback(alice, thread.id, [items[2]!.id, elsewhere.id], "positive"), false);
        assert.equal(await store.items.addFeedback(alice, thread.id, [items[2]!.id, items[3]!.id, items[3]!.id], "positive"), true);
        assert.equal(await store.items.addFeedback(alice, thread.id, [items[2]!.id], "negative"), true);

        const { db } = connectDatabase(location);
        try {
          const feedback = await db.selectFrom("item_feedback").select(["item_id", "kind"]).orderBy("kind").execute();
          assert.deepEqual(feedback, [
            { item_id: items[2]!.id, kind: "negative" },
            { item_id: items[3]!.id, kind: "positive" },
          ]);
          const removed = await store.items.deleteAfter(alice, thread.id, items[1]!.id);
          assert.deepEqual(removed, [
            { id: items[2]!.id, type: "user_message" },
            { id: items[3]!.id, type: "user_message" },
          ]);
          assert.deepEqual(await db.selectFrom("item_feedback").selectAll().execute(), []);
        } finally {
          await db.destroy();
        }
        assert.deepEqual(texts(await store.items.history(alice, thread.id)), ["a", "b"]);
        assert.deepEqual(await store.items.deleteAfter(alice, thread.id, "msg_unknown"), []);
        // The next item goes after the survivors.
        await store.items.add(alice, message(thread.id, "e"));
        assert.deepEqual(texts(await store.items.history(alice, thread.id)), ["a", "b", "e"]);
      });
    });

    test("items: concurrent writers to one thread each get a place of their own", async () => {
      await withStore(async (store, alice) => {
        const thread = await store.threads.create(alice, "assistant");
        const items = Array.from({ length: 24 }, (_, i) => message(thread.id, `m${i}`));
        await Promise.all(items.map((item, i) => (i % 2 ? store.items.add(alice, item) : store.items.save(alice, item))));
        const history = await store.items.history(alice, thread.id);
        assert.equal(history.length, 24);
        assert.deepEqual(new Set(history.map((item) => item.id)), new Set(items.map((item) => item.id)));
        const paged: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await itemPage(store, alice, thread.id, { limit: 5, order: "asc", after });
          paged.push(...page.rows.map((row) => row.id));
          if (!page.hasMore) break;
          after = page.rows.at(-1)!.id;
        }
        assert.deepEqual(paged, history.map((item) => item.id));
      });
    });

    test("attachments: two-phase upload claims once, completes once; reads are the owner's", async () => {
      await withStore(async (store, alice, bob) => {
        const pending = await store.attachments.create(alice, { name: "a.png", mime_type: "image/png", size_bytes: 10 });
        assert.equal(pending.status, "pending");
        assert.equal(pending.uploaded_at, null);
        assert.equal(await store.attachments.claimForUpload(bob, pending.id), false);
        const claims = await Promise.all([1, 2, 3].map(() => store.attachments.claimForUpload(alice, pending.id)));
        assert.deepEqual(claims.sort(), [false, false, true]);
        await store.attachments.releaseUpload(alice, pending.id);
        assert.equal((await store.attachments.get(alice, pending.id))?.status, "pending");
        assert.equal(await store.attachments.markUploaded(alice, pending.id, 8), undefined);
        assert.equal(await store.attachments.claimForUpload(alice, pending.id), true);
        const ready = await store.attachments.markUploaded(alice, pending.id, 8);
        assert.equal(ready?.status, "ready");
        assert.equal(ready?.size_bytes, 8);
        assert.equal(typeof ready?.uploaded_at, "number");
        assert.equal(await store.attachments.markUploaded(alice, pending.id, 8), undefined);

        const direct = await store.attachments.createUploaded(alice, { id: newId("attachment"), name: "b.txt", mime_type: "text/plain", size_bytes: 3 });
        const stillPending = await store.attachments.create(alice, { name: "c.txt", mime_type: "text/plain", size_bytes: 3 });
        const bobs = await store.attachments.createUploaded(bob, { id: newId("attachment"), name: "d.txt", mime_type: "text/plain", size_bytes: 3 });
        assert.deepEqual(
          (await store.attachments.getMany(alice, [direct.id, "atc_unknown", bobs.id, stillPending.id, pending.id])).map((row) => row.id),
          [direct.id, pending.id],
        );
        assert.equal(await store.attachments.get(bob, direct.id), undefined);
        assert.equal((await store.attachments.getForSignedLink(direct.id))?.id, direct.id);
        assert.equal(await store.attachments.delete(bob, direct.id), false);
        assert.equal(await store.attachments.delete(alice, direct.id), true);
        assert.equal(await store.attachments.get(alice, direct.id), undefined);
      });
    });

    test("deleting a thread takes its items and sent attachments along, and nothing of anyone else's", async () => {
      await withStore(async (store, alice, bob) => {
        const thread = await store.threads.create(alice, "assistant");
        const kept = await store.threads.create(alice, "assistant");
        const item = message(thread.id, "with a file");
        await store.items.add(alice, item);
        await store.items.add(alice, message(kept.id, "stays"));
        await store.items.addFeedback(alice, thread.id, [item.id], "positive");
        const sent = await store.attachments.createUploaded(alice, { id: newId("attachment"), name: "s.txt", mime_type: "text/plain", size_bytes: 1 });
        const unsent = await store.attachments.createUploaded(alice, { id: newId("attachment"), name: "u.txt", mime_type: "text/plain", size_bytes: 1 });
        await store.attachments.linkToItem(alice, [sent.id], thread.id, item.id);
        assert.equal((await store.attachments.get(alice, sent.id))?.thread_id, thread.id);
        const bobsThread = await store.threads.create(bob, "assistant");
        await store.items.add(bob, message(bobsThread.id, "bob's"));

        assert.deepEqual(await store.threads.delete(alice, thread.id), { attachmentIds: [sent.id] });
        assert.equal(await store.threads.get(alice, thread.id), undefined);
        assert.deepEqual(await store.items.history(alice, thread.id), []);
        assert.equal(await store.attachments.get(alice, sent.id), undefined);
        assert.equal((await store.attachments.get(alice, unsent.id))?.id, unsent.id);
        assert.equal((await store.items.history(alice, kept.id)).length, 1);
        assert.equal((await store.items.history(bob, bobsThread.id)).length, 1);
        assert.equal(await store.threads.delete(alice, thread.id), undefined);
        const counts = await store.counts();
        assert.deepEqual([counts.threads, counts.items, counts.attachments], [2, 2, 1]);
      });
    });

    test("the unsent-upload sweep deletes each old unsent upload once, even with several sweepers at once", async () => {
      await withStore(async (store, alice, _bob, location) => {
        const thread = await store.threads.create(alice, "assistant");
        const item = message(thread.id, "x");
        await store.items.add(alice, item);
        const old = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            i % 2
              ? store.attachments.create(alice, { name: `p${i}`, mime_type: "text/plain", size_bytes: 1 })
              : store.attachments.createUploaded(alice, { id: newId("attachment"), name: `r${i}`, mime_type: "text/plain", size_bytes: 1 }),
          ),
        );
        const sentOld = await store.attachments.createUploaded(alice, { id: newId("attachment"), name: "sent", mime_type: "text/plain", size_bytes: 1 });
        await store.attachments.linkToItem(alice, [sentOld.id], thread.id, item.id);
        const { db } = connectDatabase(location);
        try {
          await db.updateTable("attachments").set({ created_at: 1_000 }).execute();
        } finally {
          await db.destroy();
        }
        const fresh = await store.attachments.create(alice, { name: "fresh", mime_type: "text/plain", size_bytes: 1 });

        const swept = (await Promise.all([1, 2, 3].map(() => store.attachments.deleteUnsentBefore(Date.now() - 60_000)))).flat();
        assert.deepEqual(swept.sort(), old.map((row) => row.id).sort());
        assert.equal((await store.attachments.get(alice, fresh.id))?.id, fresh.id);
        assert.equal((await store.attachments.get(alice, sentOld.id))?.id, sentOld.id);
      });
    });

    test("login links: used once even when opened concurrently; expired, unknown and disabled users refused", async () => {
      await withStore(async (store, alice, bob) => {
        const { token, link } = await store.loginLinks.create(alice.userId, { agentId: "assistant", ttlMs: 60_000 });
        assert.equal(link.expires_at - link.created_at, 60_000);
        const checked = await store.loginLinks.check(token);
        assert.equal(checked.ok && checked.user.id, alice.userId);
        const opened = await Promise.all([1, 2, 3, 4].map(() => store.loginLinks.consume(token)));
        assert.equal(opened.filter((result) => result.ok).length, 1);
        assert.deepEqual(
          opened.filter((result) => !result.ok),
          [1, 2, 3].map(() => ({ ok: false, reason: "used" })),
        );
        assert.deepEqual(await store.loginLinks.check(token), { ok: false, reason: "used" });
        assert.deepEqual(await store.loginLinks.consume("nope"), { ok: false, reason: "unknown" });
        const expired = await store.loginLinks.create(alice.userId, { agentId: null, ttlMs: -60_000 });
        assert.deepEqual(await store.loginLinks.consume(expired.token), { ok: false, reason: "expired" });
        const bobs = await store.loginLinks.create(bob.userId, { agentId: null, ttlMs: 60_000 });
        await store.users.setDisabled({ email: "bob@example.com" }, true);
        assert.deepEqual(await store.loginLinks.consume(bobs.token), { ok: false, reason: "user_disabled" });
      });
    });
  });
}
