import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import { configPath } from "../config/load.ts";
import { describeProbe, probeUpstreams } from "../agents/probe.ts";
import { describeUpstream } from "../agents/upstream.ts";
import { attachmentStorageFor } from "../attachments/storage.ts";
import { chatkitMode } from "../config/mode.ts";
import { COOKIE_SECRET_FILE, SharedCookieKeysRequired } from "../config/secrets.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { checkDatabaseFile, DATABASE_FILE, openStore } from "../store/index.ts";
import { serverBaseUrl } from "./login-link.ts";
import { describeMcpServer, mcpStatusByAgent } from "./mcp-status.ts";
import { loadConfigOrFail, parseCommandArgs } from "./cli.ts";

const help = `
Usage: npm run --silent check

Validates the config and the data dir without starting the server, and prints what the box
runs as: self-hosted or hosted ChatKit, for each agent the local responder or a model upstream,
and the database (SQLite or PostgreSQL) and attachment storage (data dir or S3 bucket) in use.
It makes one real request to each model upstream (its model list, or the smallest completion)
and to each MCP server, and asks the database and storage. Exits 1, with one "problem:" line
each, when something would stop the server or fail chats: an upstream or MCP server that does
not answer, a model the upstream does not have, a bad config, an unusable data dir or database.
`;

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

export async function checkCommand(argv: string[]): Promise<void> {
  parseCommandArgs(help, {}, argv);
  const config = await loadConfigOrFail();
  const problems: string[] = [];
  const warnings: string[] = [];
  console.log(`config: ${configPath()} ok`);

  const mode = chatkitMode(config);
  if (mode.kind === "self-hosted") {
    console.log(`mode: self-hosted (ChatKit talks to ${config.chatkit.apiUrl}, domain key "${config.chatkit.domainKey}")`);
  } else {
    console.log(`mode: hosted (${mode.secret === "workflow" ? `client secrets minted for workflow ${mode.workflowId}` : "static client secret"})`);
  }
  console.log(`pages: ${serverBaseUrl(config)}/agents/<id>/chatkit, web component from ${config.chatkit.scriptUrl}`);
  const [mcp, upstreams] = await Promise.all([mcpStatusByAgent(config), probeUpstreams(config)]);
  for (const agent of config.agents) {
    console.log(`agent ${agent.id}: ${describeUpstream(config, agent)}`);
    const probe = upstreams.get(agent.id);
    if (probe?.ok) console.log(`agent ${agent.id}: ${describeProbe(config, agent, probe)}`);
    else if (probe) problems.push(`agent ${agent.id}: ${describeProbe(config, agent, probe)}; its chats fail until it does`);
    for (const server of mcp.get(agent.id)!) {
      console.log(`agent ${agent.id}: MCP server ${describeMcpServer(server)}`);
      // The box would start, but the agent would answer without that server's tools.
      if (!server.ok) problems.push(`agent ${agent.id}: MCP server "${server.name}" does not answer (${server.error}); its tools are left out until it does`);
    }
  }

  const dataDir = config.dataDir;
  if (config.database.url) {
    await checkDatabase(config, problems);
    if (config.cookieKeys.length === 0) problems.push(new SharedCookieKeysRequired().message);
    if (!isWritable(existsSync(dataDir) ? dataDir : path.dirname(dataDir))) problems.push(`the data dir ${dataDir} is not writable`);
  } else if (!existsSync(dataDir)) {
    console.log(`data dir: ${dataDir} (does not exist yet; created on first start)`);
    const parent = path.dirname(dataDir);
    if (!isWritable(parent)) problems.push(`cannot create the data dir: ${parent} is not writable`);
  } else if (!isWritable(dataDir)) {
    problems.push(`the data dir ${dataDir} is not writable`);
  } else if (!existsSync(path.join(dataDir, DATABASE_FILE))) {
    console.log(`data dir: ${dataDir} (no database yet; created on first start)`);
  } else {
    const verdict = checkDatabaseFile(path.join(dataDir, DATABASE_FILE));
    if (verdict !== "ok") {
      problems.push(`the database ${path.join(dataDir, DATABASE_FILE)} failed SQLite's check: ${verdict}`);
    } else {
      await checkDatabase(config, problems);
    }
  }
  await checkStorage(config, problems);
  if (config.database.url && config.storage.type === "dataDir") {
    warnings.push("attachments are kept in this server's data dir: several servers need them on storage they share (a shared folder mounted as the data dir on every server)");
  }
  if (!config.database.url && config.cookieKeys.length === 0 && !existsSync(path.join(dataDir, COOKIE_SECRET_FILE))) {
    console.log("cookie keys: none yet; one is generated into the data dir on first start");
  }

  const publicHost = config.server.publicUrl ? new URL(config.server.publicUrl).hostname : config.server.host;
  if (!LOCAL_HOSTS.has(publicHost)) {
    if (mode.kind === "self-hosted" && config.chatkit.domainKey === "local-dev") {
      warnings.push(`users reach the box at ${publicHost}, but the domain key is "local-dev": register the domain with OpenAI and set chatkit.domainKey (CHATKIT_DOMAIN_KEY)`);
    }
    if (!config.server.publicUrl?.startsWith("https:")) {
      warnings.push("the pages are not served over https: set server.publicUrl to the https address of your reverse proxy");
    }
  }

  for (const warning of warnings) console.error(`warning: ${warning}`);
  for (const problem of problems) console.error(`problem: ${problem}`);
  if (problems.length > 0) process.exit(1);
  console.log("ok");
}

/** Opens (and migrates) the database and counts what it holds: proof that it answers. */
async function checkDatabase(config: ChatkitConfig, problems: string[]): Promise<void> {
  let store;
  try {
    store = await openStore(config);
    const counts = await store.counts();
    console.log(
      `database: ${store.description} answers (${counts.users} users, ${counts.sessions} live sessions, ${counts.threads} threads, ${counts.items} items, ${counts.attachments} attachments)`,
    );
  } catch (error) {
    problems.push(`the database ${config.database.url ? "at database.url" : `in ${config.dataDir}`} does not answer: ${(error as Error).message}`);
  } finally {
    await store?.close();
  }
}

/** Whether the attachment storage answers: the data dir's folder is writable, the bucket is there. */
async function checkStorage(config: ChatkitConfig, problems: string[]): Promise<void> {
  if (config.storage.type === "dataDir" && !existsSync(config.dataDir)) return;
  try {
    const storage = attachmentStorageFor(config);
    await storage.check();
    console.log(`attachments: ${storage.description} answers`);
  } catch (error) {
    const where = config.storage.type === "s3" ? `the bucket ${config.storage.bucket}` : `the data dir's attachments folder`;
    problems.push(`attachment storage: ${where} does not answer: ${(error as Error).message || (error as Error).name}`);
  }
}

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
