import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./admin.css";

/**
 * The admin page (`/admin`): people, usage, storage and the box, every action through the admin
 * JSON API (`/admin/api/...`, the same a script would call). Its own bundle, so the chat client
 * does not carry it; same origin, nothing loaded from anywhere else.
 */

const API = "/admin/api";

interface Quotas {
  tokens_per_day: number | null;
  tokens_per_month: number | null;
  stored_bytes: number | null;
  uploads_in_flight: number | null;
}

interface Person {
  id: string;
  email: string;
  role: "admin" | "user";
  disabled: boolean;
  last_seen: string | null;
  tokens_this_month: number;
  turns_this_month: number;
  stored_bytes: number;
  quotas: Quotas;
}

interface UsageRow {
  day: string;
  user: string;
  agent: string;
  model: string;
  kind: string;
  count: number;
  input_tokens: number;
  output_tokens: number;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${API}${path}`, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await response.json()) as T & { error?: string; message?: string };
  if (!response.ok) throw new Error(data.message ?? data.error ?? `HTTP ${response.status}`);
  return data;
}

const bytes = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") : "never");

function People({ onChange, version }: { onChange: () => void; version: number }) {
  const [people, setPeople] = useState<Person[]>([]);
  const [query, setQuery] = useState("");
  const [invite, setInvite] = useState("");
  const [notice, setNotice] = useState("");
  useEffect(() => {
    call<{ people: Person[] }>("GET", `/people?q=${encodeURIComponent(query)}`).then((data) => setPeople(data.people), (error: Error) => setNotice(error.message));
  }, [query, version]);
  /** Runs an action; the notice is what it answers when that is text, else `what`. */
  const act = async (what: string, run: () => Promise<unknown>) => {
    try {
      const said = await run();
      setNotice(typeof said === "string" ? said : what);
      onChange();
    } catch (error) {
      setNotice((error as Error).message);
    }
  };
  return (
    <section aria-labelledby="people-title">
      <h2 id="people-title">People</h2>
      <div class="row">
        <input type="search" placeholder="Search by email" aria-label="Search people" value={query} onInput={(event) => setQuery((event.target as HTMLInputElement).value)} />
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            void act(`Invited ${invite}`, async () => {
              const answer = await call<{ login_link: { url: string } }>("POST", "/users/invite", { email: invite });
              setInvite("");
              return `Invitation link for ${invite}: ${answer.login_link.url}`;
            });
          }}
        >
          <input type="email" required placeholder="name@example.com" aria-label="Email to invite" value={invite} onInput={(event) => setInvite((event.target as HTMLInputElement).value)} />
          <button type="submit">Invite</button>
        </form>
      </div>
      {notice && <p role="status" class="notice">{notice}</p>}
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <th>Last seen</th>
            <th>Tokens this month</th>
            <th>Stored</th>
            <th>Tokens/day quota</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {people.map((person) => (
            <tr key={person.id} data-email={person.email}>
              <td>{person.email}</td>
              <td>
                <select aria-label={`Role of ${person.email}`} value={person.role} onChange={(event) => void act(`Role of ${person.email} changed`, () => call("PUT", `/users/${person.id}/role`, { role: (event.target as HTMLSelectElement).value }))}>
                  <option value="user">user</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>{person.disabled ? "disabled" : "active"}</td>
              <td>{when(person.last_seen)}</td>
              <td>{person.tokens_this_month.toLocaleString()} ({person.turns_this_month} turns)</td>
              <td>{bytes(person.stored_bytes)}</td>
              <td>
                <form
                  class="row"
                  onSubmit={(event) => {
                    event.preventDefault();
                    const raw = (new FormData(event.target as HTMLFormElement).get("tokens_per_day") as string).trim();
                    void act(`Quota of ${person.email} saved`, () => call("PUT", `/users/${person.id}/quotas`, { ...person.quotas, tokens_per_day: raw === "" ? null : Number(raw) }));
                  }}
                >
                  <input name="tokens_per_day" inputMode="numeric" aria-label={`Tokens per day for ${person.email}`} placeholder="default" value={person.quotas.tokens_per_day ?? ""} size={9} />
                  <button type="submit">Save</button>
                </form>
              </td>
              <td class="actions">
                <button type="button" onClick={() => void act(`${person.email} ${person.disabled ? "enabled" : "disabled"}`, () => call("POST", `/users/${person.id}/${person.disabled ? "enable" : "disable"}`))}>
                  {person.disabled ? "Enable" : "Disable"}
                </button>
                <button type="button" onClick={() => void act(`Sessions of ${person.email} revoked`, () => call("POST", `/users/${person.id}/revoke-sessions`))}>Revoke sessions</button>
                <a class="button" href={`${API}/users/${person.id}/export`} download>Export</a>
                <button type="button" class="danger" onClick={() => confirm(`Delete ${person.email} and everything of theirs?`) && void act(`Deleted ${person.email}`, () => call("DELETE", `/users/${person.id}`))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Tokens per day, one line per user (or agent, or model), drawn with uPlot. */
function Usage({ version }: { version: number }) {
  const [rows, setRows] = useState<UsageRow[]>([]);
  const [by, setBy] = useState<"user" | "agent" | "model">("user");
  const chart = useRef<HTMLDivElement>(null);
  useEffect(() => {
    void call<{ rows: UsageRow[] }>("GET", "/usage").then((data) => setRows(data.rows));
  }, [version]);
  useEffect(() => {
    const target = chart.current;
    if (!target) return;
    // Every one of the last 30 days (UTC), so a quiet day shows as zero and the axis spans the period.
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const days = Array.from({ length: 30 }, (_, i) => new Date(today - (29 - i) * 86_400_000).toISOString().slice(0, 10));
    const names = [...new Set(rows.map((row) => row[by]))].sort();
    const series = names.map((name) => days.map((day) => rows.filter((row) => row.day === day && row[by] === name).reduce((sum, row) => sum + row.input_tokens + row.output_tokens, 0)));
    const x = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];
    const plot = new uPlot(
      {
        width: Math.min(900, target.clientWidth || 900),
        height: 260,
        series: [{}, ...names.map((name, i) => ({ label: name, stroke: palette[i % palette.length]!, width: 2, points: { show: true } }))],
        axes: [{}, { label: "tokens" }],
      },
      [x, ...series],
      target,
    );
    return () => plot.destroy();
  }, [rows, by]);
  const turns = rows.filter((row) => row.kind === "turn").reduce((sum, row) => sum + row.count, 0);
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage, last 30 days</h2>
      <div class="row">
        <label>
          Tokens per day by{" "}
          <select value={by} onChange={(event) => setBy((event.target as HTMLSelectElement).value as typeof by)}>
            <option value="user">user</option>
            <option value="agent">agent</option>
            <option value="model">model</option>
          </select>
        </label>
        <span>{turns} turns</span>
        <a class="button" href={`${API}/usage?format=csv`} download>Export CSV</a>
      </div>
      <div ref={chart} class="chart" data-series={rows.length} />
    </section>
  );
}

function Storage({ version }: { version: number }) {
  const [data, setData] = useState<{ total_bytes: number; users: Array<{ email: string; stored_bytes: number }>; unsent_uploads: { count: number; bytes: number }; uploads_in_flight: { count: number }; backend: string }>();
  useEffect(() => {
    void call<NonNullable<typeof data>>("GET", "/storage").then(setData);
  }, [version]);
  if (!data) return null;
  return (
    <section aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <p>
        {bytes(data.total_bytes)} in all ({data.backend}); {data.unsent_uploads.count} unsent uploads ({bytes(data.unsent_uploads.bytes)}); {data.uploads_in_flight.count} uploads arriving.
      </p>
      <table>
        <tbody>
          {data.users.map((row) => (
            <tr key={row.email}>
              <td>{row.email}</td>
              <td>{bytes(row.stored_bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Box() {
  const [box, setBox] = useState<Record<string, any>>();
  useEffect(() => {
    void call<Record<string, any>>("GET", "/box").then(setBox);
  }, []);
  if (!box) return <p>Asking the box…</p>;
  return (
    <section aria-labelledby="box-title">
      <h2 id="box-title">The box</h2>
      <dl>
        <dt>Version</dt>
        <dd>{box.version} (Node {box.node}), up {Math.round(box.uptime_seconds / 60)} min</dd>
        <dt>Database</dt>
        <dd>{box.database}</dd>
        <dt>Files</dt>
        <dd>{box.storage}</dd>
      </dl>
      <h3>Model upstreams</h3>
      <ul class="health">
        {(box.model_upstreams as Array<{ base_url: string; ok: boolean; detail: string; agents: string[] }>).map((upstream) => (
          <li key={upstream.base_url} class={upstream.ok ? "ok" : "down"}>
            {upstream.ok ? "answers" : "no answer"}: {upstream.base_url} ({upstream.agents.join(", ")}) — {upstream.detail}
          </li>
        ))}
      </ul>
      <h3>MCP servers</h3>
      <ul class="health">
        {(box.mcp_servers as Array<{ agent: string; name: string; ok: boolean; error?: string }>).map((server) => (
          <li key={`${server.agent}/${server.name}`} class={server.ok ? "ok" : "down"}>
            {server.ok ? "answers" : `no answer (${server.error})`}: {server.name} for {server.agent}
          </li>
        ))}
        {box.mcp_servers.length === 0 && <li>none configured</li>}
      </ul>
      <h3>Recent errors by key</h3>
      <ul>
        {(box.errors_by_key as Array<{ key: string; count: number }>).map((entry) => (
          <li key={entry.key}>
            {entry.key}: {entry.count}
          </li>
        ))}
      </ul>
      <h3>Limits in force</h3>
      <pre>{JSON.stringify({ limits: box.limits, quotas: box.quotas }, null, 2)}</pre>
    </section>
  );
}

function AdminPage() {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((n) => n + 1);
  return (
    <main>
      <h1>Admin</h1>
      <People onChange={changed} version={version} />
      <Usage version={version} />
      <Storage version={version} />
      <Box />
    </main>
  );
}

const root = document.getElementById("admin-app");
if (root) render(<AdminPage />, root);
