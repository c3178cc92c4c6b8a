/**
 * Sign-in names as stored. better-auth only accepts addresses whose domain has a dot, but a
 * first admin is conventionally `admin@localhost`: single-label domains are stored with the
 * `.localdomain` suffix and the short form keeps working at sign-in.
 */
export function canonicalEmail(email: string): string {
  const e = email.trim().toLowerCase();
  const at = e.lastIndexOf("@");
  if (at < 0) return e;
  const domain = e.slice(at + 1);
  return domain !== "" && !domain.includes(".") ? `${e}.localdomain` : e;
}
