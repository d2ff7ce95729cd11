import { request } from "node:http";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request through node:http, which (unlike fetch) sends any method (TRACE, PROPFIND),
 * any header value it accepts, and a body for any method, from any local address (a second
 * loopback address plays another machine). Bounded by `timeoutMs`.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number; localAddress?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // node:http frames a body for DELETE or OPTIONS only with an explicit length.
    const length = options.body !== undefined && !options.headers?.["transfer-encoding"] ? { "content-length": String(Buffer.byteLength(options.body)) } : {};
    const from = options.localAddress ? { localAddress: options.localAddress } : {};
    const req = request(url, { method: options.method ?? "GET", headers: { ...length, ...options.headers }, agent: false, ...from }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer to ${options.method} ${url} in time`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
