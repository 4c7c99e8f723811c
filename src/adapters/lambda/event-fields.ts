import type { LambdaEvent } from 'hono/aws-lambda';

type MultiValueFields = Record<string, readonly (string | undefined)[] | undefined>;

/**
 * The event with one value per field name in `multiValueHeaders` (ALB in
 * multi-value mode, API Gateway v1): a field's values joined with `, `, as
 * HTTP combines repeated fields (RFC 9110 §5.3), and `cookie`'s with `; `
 * (RFC 6265 §5.4). `hono/aws-lambda` joins every ALB field's values with
 * `; ` and appends v1's with `, `, cookies too; given one value a name, it
 * passes that value on as it is. Names are lower-cased, so spellings that
 * differ in case become one field instead of one replacing the other. The
 * event itself is not changed.
 *
 * @example
 * withJoinedFields(albEvent).multiValueHeaders; // { accept: ['a/b, c/d'], cookie: ['a=1; b=2'] }
 */
export function withJoinedFields<E extends LambdaEvent>(event: E): E {
  const fields = (event as { multiValueHeaders?: MultiValueFields | null }).multiValueHeaders;
  if (!fields || typeof fields !== 'object') return event;
  const byName = new Map<string, string[]>();
  for (const [name, values] of Object.entries(fields)) {
    if (!Array.isArray(values)) continue;
    const key = name.toLowerCase();
    const list = byName.get(key) ?? [];
    for (const value of values) if (typeof value === 'string') list.push(value);
    if (list.length > 0) byName.set(key, list);
  }
  const joined: Record<string, string[]> = {};
  for (const [name, values] of byName) joined[name] = [values.join(name === 'cookie' ? '; ' : ', ')];
  return { ...event, multiValueHeaders: joined };
}
