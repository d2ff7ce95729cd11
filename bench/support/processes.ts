/**
 * Starting what is measured, each in a process of its own on 127.0.0.1: our server as
 * `npm start` runs it, the bare Koa baseline, the peer, and the fake upstream. Where `taskset`
 * exists and there are two cores or more, servers run on SERVER_CPU and this process (the load
 * generator) and the fake upstream on LOAD_CPU, so load and server never share a core.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { transformSync } from "esbuild";
import { cleanEnv, REPO_ROOT, SERVER_ARGS } from "../../test/support/process.ts";
import type { ProbeStats } from "./probe.ts";

export { REPO_ROOT };

const hasTaskset = ["/usr/bin/taskset", "/bin/taskset"].some((file) => existsSync(file));
export const PINNED = hasTaskset && os.cpus().length >= 2;
export const SERVER_CPU = process.env.SERVER_CPU ?? "0";
export const LOAD_CPU = process.env.LOAD_CPU ?? "1";

/** Pins this process (all its threads) and so every child started later to the load core. */
export function pinLoadGenerator(): void {
  if (PINNED) execFileSync("taskset", ["-a", "-cp", LOAD_CPU, String(process.pid)], { stdio: "ignore" });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * How each kind of process is started: argv after `node`. Ours runs as `npm start` runs it: the
 * compiled server, no TypeScript loader in the process; the others are TypeScript run through tsx.
 */
const TSX = ["--import", "tsx"];
export const ENTRY = {
  ours: SERVER_ARGS,
  bare: [...TSX, "bench/targets/bare-koa.ts"],
  peer: [...TSX, "bench/targets/peer.ts"],
  upstream: [...TSX, "bench/targets/fake-upstream.ts"],
} as const;
export type Kind = keyof typeof ENTRY;

let probeModule: string | undefined;
/** The stats probe as plain JavaScript (compiled once per run), so ours needs no TypeScript loader for it. */
function probeArgs(): string[] {
  if (!probeModule) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chatkit-bench-probe-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    probeModule = path.join(dir, "probe.mjs");
    writeFileSync(probeModule, transformSync(readFileSync(path.join(REPO_ROOT, "bench/support/probe.ts"), "utf8"), { loader: "ts", format: "esm" }).code);
  }
  return ["--import", probeModule];
}

let built = false;
/** Brings dist/ up to date before ours is first started, so no start-up measured includes a build. */
function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, ["scripts/run-built.mjs"], { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"] });
  built = true;
}

export interface Launched {
  kind: Kind;
  url: string;
  child: ChildProcess;
  /** From spawn to the first 200 from /healthz (or the printed URL for the upstream), in ms. */
  startMs: number;
  /** The process's own CPU time, peak RSS and event-loop delay (needs `probe`). */
  stats(): Promise<ProbeStats>;
  /** Starts a new event-loop delay window and returns the stats at that moment. */
  resetStats(): Promise<ProbeStats>;
  /** What the process printed (the first 64 kB). */
  output(): string;
  /** Sends a message over IPC and waits for the process's `{ ok: true }`. */
  tell(message: object): Promise<void>;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  env?: Record<string, string>;
  /** Preload the stats probe (default true). */
  probe?: boolean;
  /** Run on the server core (default: every kind but the upstream). */
  pinToServerCpu?: boolean;
  timeoutMs?: number;
}

/** Starts one process and waits until it answers /healthz. */
export async function launch(kind: Kind, options: LaunchOptions = {}): Promise<Launched> {
  const port = await freePort();
  if (kind === "ours") ensureBuilt();
  const nodeArgs = [...(options.probe === false ? [] : probeArgs()), ...ENTRY[kind]];
  const pin = (options.pinToServerCpu ?? kind !== "upstream") && PINNED;
  const [command, args] = pin ? ["taskset", ["-c", SERVER_CPU, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...cleanEnv({ HOST: "127.0.0.1", PORT: String(port), ...options.env }) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    if (output.length < 64_000) output += chunk;
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    if (output.length < 64_000) output += chunk;
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`${kind} exited (${code ?? signal}) while starting:\n${output.slice(-4000)}`))),
  );
  exited.catch(() => {});
  const url = kind === "upstream" ? await printedUrl(child, exited) : `http://127.0.0.1:${port}`;
  if (kind !== "upstream") await Promise.race([untilHealthy(url, options.timeoutMs ?? 60_000), exited]);
  const startMs = performance.now() - started;

  let nextId = 0;
  const ask = (probe: "stats" | "reset") =>
    new Promise<ProbeStats>((resolve) => {
      const id = ++nextId;
      const onMessage = (message: { probe?: string; id?: number; stats: ProbeStats }) => {
        if (message.probe !== "stats" || message.id !== id) return;
        child.off("message", onMessage);
        resolve(message.stats);
      };
      child.on("message", onMessage);
      child.send({ probe, id });
    });

  return {
    kind,
    url,
    child,
    startMs,
    stats: () => ask("stats"),
    resetStats: () => ask("reset"),
    output: () => output,
    tell: (message) =>
      new Promise<void>((resolve) => {
        const onMessage = (reply: { ok?: boolean }) => {
          if (!reply.ok) return;
          child.off("message", onMessage);
          resolve();
        };
        child.on("message", onMessage);
        child.send(message);
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

async function printedUrl(child: ChildProcess, exited: Promise<never>): Promise<string> {
  const found = new Promise<string>((resolve) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
  });
  return Promise.race([found, exited]);
}

/** Polls /healthz every 5 ms until it answers 200. */
export async function untilHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${url}/healthz did not answer 200 within ${timeoutMs} ms`);
}

/** This machine, for the report: CPU model, cores, memory, Node, load average. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  const load = os.loadavg().map((n) => n.toFixed(2)).join(" ");
  const pinning = PINNED ? `servers pinned to CPU ${SERVER_CPU}, load and upstream to CPU ${LOAD_CPU}` : "no pinning (taskset missing or one core)";
  return `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${gib} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; load average ${load}; ${pinning}`;
}
