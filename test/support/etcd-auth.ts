/** Turns auth on in a fresh etcd through its gateway: a root user, and `username` with the root role. */
export async function enableAuth(endpoint: string, user: { username: string; password: string }): Promise<void> {
  const call = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  };
  await call('/v3/auth/user/add', { name: 'root', password: `root-${crypto.randomUUID()}` });
  await call('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await call('/v3/auth/user/add', { name: user.username, password: user.password });
  await call('/v3/auth/user/grant', { user: user.username, role: 'root' });
  await call('/v3/auth/enable', {});
}
