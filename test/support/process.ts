import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * The compiled server as `npm start` runs it (argv after node, node's own flags included; from
 * REPO_ROOT), without npm in between: read from package.json's `start`, so tests and the
 * benchmark start what operators start.
 */
export const SERVER_ARGS = npmStartArgs();

function npmStartArgs(): string[] {
  const start: string = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts.start;
  const args = /^exec node (.+)$/.exec(start)?.[1]?.split(" ");
  if (!args) throw new Error(`package.json's start script is not "exec node <args>": ${start}`);
  return args;
}

/** Runs a command from the repo root and collects its output (bounded by `timeoutMs`, generous: a loaded 2-core machine starts several processes slowly). */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Env for child processes: none of the developer's own overrides leak in. */
export function cleanEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...extra };
  for (const name of Object.keys(process.env)) {
    if ((name.startsWith("CHATKIT_") || name.startsWith("OPENAI_") || name === "PORT" || name === "HOST") && !(name in extra)) {
      env[name] = undefined;
    }
  }
  return env;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string | null>;
}

/**
 * Starts the real server (SERVER_ARGS: what `npm start` runs, no npm in between, so signals reach it)
 * on an ephemeral port; `ulimitFileKb` caps the size of any file it writes (a full disk).
 */
export async function startServerProcess(env: Record<string, string>, options: { ulimitFileKb?: number } = {}): Promise<ServerProcess> {
  const node = `exec ${[process.execPath, ...SERVER_ARGS].map((arg) => JSON.stringify(arg)).join(" ")}`;
  const script = options.ulimitFileKb ? `ulimit -f ${options.ulimitFileKb}; ${node}` : node;
  const child = spawn("bash", ["-c", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...cleanEnv({ PORT: "0", ...env }) } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening: ${output}`));
    });
  });
  return { url, child, output: () => output, exited };
}

/** Waits (up to 30 s) until the server's output matches `pattern`, and returns the match. */
export async function waitForOutput(server: ServerProcess, pattern: RegExp): Promise<RegExpExecArray> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    const match = pattern.exec(server.output());
    if (match) return match;
    if (server.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${pattern} in the server's output:\n${server.output()}`);
}

/** Stops a server process with SIGTERM, as systemd does, and waits until it has exited. */
export async function stopServerProcess(server: ServerProcess): Promise<void> {
  server.child.kill("SIGTERM");
  await server.exited;
}
