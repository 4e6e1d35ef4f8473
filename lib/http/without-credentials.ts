// Failure bodies often quote a connection string ("cannot connect to
// redis://u:pw@10.0.0.1:6379/0"): the client gets the URL without its secret.
// Only URLs with a scheme are touched, so an email address stays as it is.

/**
 * scheme://userinfo@ : the userinfo runs to the last `@` before the host's
 * end (`/`, `?`, `#`, whitespace), as URL parsers read it, so a raw `@` in a
 * password is masked too.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;

export const MASK = '***';

/**
 * Masks credentials in URLs: `scheme://user:***@host` keeps the user and hides
 * the password; a userinfo without a password (`https://TOKEN@host`, often a
 * token) is masked whole: `scheme://***@host`.
 */
export function withoutCredentials(text: string): string {
  return text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${MASK}@` : `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
  });
}
