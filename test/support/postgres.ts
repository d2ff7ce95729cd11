import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const exec = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster for one test file: Debian's server binaries, a temporary data
 * folder, a loopback port, fsync off. PostgreSQL refuses to run as root, so as root it runs as
 * the `postgres` user (runuser). Stopped (and its folder removed) by `stop`, or at exit.
 */
export interface PostgresCluster {
  /** A new, empty database on the cluster; returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin). */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => existsSync(path.join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] && path.join(root, majors[0], "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a cluster, or says why it cannot (no server installed, no postgres user, …). */
export async function startPostgres(): Promise<{ cluster: PostgresCluster } | { unavailable: string }> {
  const bin = binDir();
  if (!bin) return { unavailable: "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)" };
  const asRoot = process.getuid?.() === 0;
  const runAs = (command: string, args: string[]) => (asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]) as [string, string[]];
  const dir = mkdtempSync(path.join(tmpdir(), "chatkit-pg-"));
  const data = path.join(dir, "data");
  const stopSync = () => {
    spawnSync(...runAs(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]), { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asRoot) {
      const ids = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
      const gids = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
      if (ids.status !== 0) throw new Error("running as root and there is no postgres user to run the server as");
      chownSync(dir, Number(ids.stdout), Number(gids.stdout));
    }
    await exec(...runAs(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]));
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
      try {
        await exec(...runAs(path.join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]));
        break;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
    process.once("exit", stopSync);
    const base = `postgres://postgres@127.0.0.1:${port}`;
    return {
      cluster: {
        async createDatabase() {
          const name = `chatkit_${randomBytes(6).toString("hex")}`;
          const admin = new pg.Client({ connectionString: `${base}/postgres` });
          await admin.connect();
          try {
            await admin.query(`CREATE DATABASE ${name}`);
          } finally {
            await admin.end();
          }
          return `${base}/${name}`;
        },
        async stop() {
          process.off("exit", stopSync);
          stopSync();
        },
      },
    };
  } catch (error) {
    stopSync();
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { unavailable: `could not start PostgreSQL: ${detail}` };
  }
}

/**
 * The cluster for a test file, or why there is none (report it with `test.skip(reason)`). In CI
 * (CI=true) a missing PostgreSQL is a failure, never a silent skip: `.ci/run` installs it.
 */
export async function postgresForTests(): Promise<{ cluster: PostgresCluster; skip?: undefined } | { cluster?: undefined; skip: string }> {
  const started = await startPostgres();
  if ("cluster" in started) return started;
  if (process.env.CI) throw new Error(`PostgreSQL tests cannot run in CI: ${started.unavailable}`);
  return { skip: `PostgreSQL tests skipped: ${started.unavailable}` };
}
