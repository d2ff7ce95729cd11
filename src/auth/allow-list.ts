/**
 * Whether an (already normalised, lower-case) email address is on an allow-list of exact
 * addresses (`ann@example.com`), whole domains (`@example.com`: that domain only, not its
 * subdomains) and `"*"` (anyone).
 */
export function isAllowed(email: string, allow: readonly string[]): boolean {
  const at = email.lastIndexOf("@");
  const domain = at < 0 ? undefined : email.slice(at);
  return allow.some((entry) => entry === "*" || entry === email || entry === domain);
}
