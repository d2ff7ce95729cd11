const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/**
 * An email address as people type it into a form: a local part without spaces, quotes, angle
 * brackets, commas or control characters, and a host name. Stricter than RFC 5322 on purpose:
 * nothing that could end a mail header or name a second recipient gets through.
 */
export const EMAIL_ADDRESS = new RegExp(`^[^\\s@<>()\\[\\]\\\\,;:"\\u0000-\\u001f\\u007f]{1,64}@(?:${LABEL}\\.)*${LABEL}$`);

/** Whether `value` is one plain email address (see `EMAIL_ADDRESS`), at most 254 characters. */
export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && EMAIL_ADDRESS.test(value);
}
