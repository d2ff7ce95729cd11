/**
 * A plain SSE parser as a browser's EventSource reads the stream: lines starting with `:` are
 * comments, `data:` lines accumulate, a blank line dispatches. Every event must be JSON.
 */
export type ParsedEvent = { type: string; [key: string]: any };

export function parseSse(raw: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  let data: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) events.push(JSON.parse(data.join("\n")) as ParsedEvent);
      data = [];
    } else if (line.startsWith(":")) {
      continue;
    } else if (line.startsWith("data:")) {
      data.push(line.slice(5).replace(/^ /, ""));
    } else {
      throw new Error(`unexpected SSE line: ${JSON.stringify(line)}`);
    }
  }
  if (data.length > 0) throw new Error("stream ended inside an event (no blank line)");
  return events;
}

/** Reads an SSE response incrementally, yielding events as they arrive. */
export async function* readSse(response: Response): AsyncGenerator<ParsedEvent> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary + 2);
      buffer = buffer.slice(boundary + 2);
      yield* parseSse(block);
      boundary = buffer.indexOf("\n\n");
    }
  }
}
