/**
 * The one way to refuse: an HTTP status and a stable key (config/locales/en.json). Thrown before
 * a stream starts, the entry route answers `{"error": key, "message": ..., ...details}` with the
 * status; thrown while a stream runs (by a handler, a tool, an action), the stream ends with an
 * `error` event carrying the key's text, and `allowRetry` decides whether the client offers a
 * retry. Anything else thrown is unexpected: logged with its stack and answered generically.
 */
export class ChatkitError extends Error {
  readonly allowRetry: boolean;
  /** Refuses a streaming request inside the chat (an `error` event the user reads) rather than with an HTTP status. */
  readonly inChat: boolean;

  constructor(
    readonly status: number,
    readonly key: string,
    readonly details: Record<string, unknown> = {},
    options: { allowRetry?: boolean; inChat?: boolean } = {},
  ) {
    super(key);
    this.name = "ChatkitError";
    this.allowRetry = options.allowRetry ?? false;
    this.inChat = options.inChat ?? false;
  }
}

/**
 * A streaming request refused for a reason the user should read in the conversation (a locked
 * thread, a model or tool the agent does not offer, an action nobody handles): the response is
 * a stream holding one `error` event. Thrown from a JSON request, it is answered with its status.
 */
export const chatRefusal = (key: string, status = 409) => new ChatkitError(status, key, {}, { inChat: true });

export const notFound = (key: string) => new ChatkitError(404, key);

/** 400 `invalid_params` naming the offending field, the way the request parser reports one. */
export function invalidField(field: string, message: string): ChatkitError {
  return new ChatkitError(400, "invalid_params", { field, issues: [{ field, message }] });
}
