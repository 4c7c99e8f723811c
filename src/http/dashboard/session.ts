import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';

/** The dashboard's cookie: HttpOnly, SameSite=Strict, scoped to `/_edge/`, signed with the admin token. */
const COOKIE = 'etcd_edge_admin';
const SESSION = 'dashboard-v1';
const MAX_AGE_S = 12 * 60 * 60;

function options(c: Context) {
  return {
    path: '/_edge/',
    httpOnly: true,
    sameSite: 'Strict' as const,
    secure: new URL(c.req.url).protocol === 'https:',
    maxAge: MAX_AGE_S,
  };
}

/**
 * Whether the request carries the dashboard's cookie. It holds no token: only
 * a fixed value signed (HMAC-SHA256) with the admin token, so rotating
 * `ADMIN_TOKEN` ends every session.
 */
export async function hasSession(c: Context, token: string): Promise<boolean> {
  if (!c.req.header('cookie')?.includes(COOKIE)) return false;
  return (await getSignedCookie(c, token, COOKIE)) === SESSION;
}

export async function startSession(c: Context, token: string): Promise<void> {
  await setSignedCookie(c, COOKIE, SESSION, token, options(c));
}

export function endSession(c: Context): void {
  deleteCookie(c, COOKIE, { path: '/_edge/', secure: options(c).secure });
}
