/**
 * An error the client may see: an HTTP status and a stable key (config/locales). Anything else
 * thrown is unexpected: logged with its stack and answered as a generic 500.
 */
export class ChatkitError extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(key);
    this.name = "ChatkitError";
  }
}

export const notFound = (key: string) => new ChatkitError(404, key);
