/**
 * Header fields as one flat list, each name (lower case) followed by its value:
 * what Node's `writeHead` and undici take and give, so the Node path copies
 * fields once per message instead of through several `Headers` objects.
 * Repeated fields stay separate entries.
 */
export type FieldList = string[];

/** The fields of a `Headers` (names are lower case there already). */
export function fieldsOf(headers: Headers): FieldList {
  const fields: FieldList = [];
  let cookies = false;
  headers.forEach((value, name) => {
    if (name === 'set-cookie') cookies = true;
    else fields.push(name, value);
  });
  // forEach joins repeated fields with ", ", which Set-Cookie values cannot take; asked for only when there are some (a call into the runtime).
  if (cookies) for (const cookie of headers.getSetCookie()) fields.push('set-cookie', cookie);
  return fields;
}

/** A `Headers` holding the fields, for `fetch` and `Response`. */
export function headersOf(fields: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < fields.length; i += 2) headers.append(fields[i]!, fields[i + 1]!);
  return headers;
}

/** The value of a field, repeated ones joined with ", " as `Headers.get` does; undefined when absent. */
export function fieldValue(fields: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== name) continue;
    value = value === undefined ? fields[i + 1]! : `${value}, ${fields[i + 1]!}`;
  }
  return value;
}

/** The fields whose names are not in `names`. */
export function withoutFields(fields: readonly string[], names: ReadonlySet<string>): FieldList {
  const out: FieldList = [];
  for (let i = 0; i < fields.length; i += 2) if (!names.has(fields[i]!)) out.push(fields[i]!, fields[i + 1]!);
  return out;
}

/** Node's `rawHeaders` (names as sent) as a field list. */
export function fieldsOfRaw(raw: readonly string[]): FieldList {
  const fields: FieldList = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 2) {
    fields[i] = raw[i]!.toLowerCase();
    fields[i + 1] = raw[i + 1]!;
  }
  return fields;
}
