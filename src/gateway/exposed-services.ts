/** One entry of `ETCD_EDGE_SERVICES`: a service name, `name-prefix*`, or `*` for all. */
const ENTRY = /^([A-Za-z0-9._-]{1,128}\*?|\*)$/;

/** Why a list of service patterns is not one, or undefined when it is. */
export function serviceListProblem(spec: string): string | undefined {
  const bad = spec.split(',').map((s) => s.trim()).find((entry) => !ENTRY.test(entry));
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not a service name, name-prefix* or *`;
}

/**
 * Which services the gateway routes to, from a comma-separated list of names
 * and `prefix*` patterns; every service when the list is absent.
 *
 * @example
 * const exposed = exposedServices(['api', 'web-*']);
 * exposed('web-eu'); // true
 * exposed('billing'); // false
 */
export function exposedServices(patterns: readonly string[] | undefined): (service: string) => boolean {
  if (patterns === undefined || patterns.includes('*')) return () => true;
  const names = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (service) => names.has(service) || prefixes.some((prefix) => service.startsWith(prefix));
}
