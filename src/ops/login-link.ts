import type { ChatkitConfig } from "../config/schema.ts";

/**
 * The base URL people reach this server at: `server.publicUrl`, else the listen address (a
 * wildcard host like 0.0.0.0 is not an address a browser can open, so 127.0.0.1 stands in).
 */
export function serverBaseUrl(config: ChatkitConfig): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, "");
  const host = ["0.0.0.0", "::", ""].includes(config.server.host) ? "127.0.0.1" : config.server.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}`;
}
