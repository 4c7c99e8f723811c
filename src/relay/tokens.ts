/**
 * Whether an `Authorization: Bearer …` value carries one of `tokens`. Every
 * token is compared in full, character by character, whatever differs first,
 * so the time taken says nothing about how close a guess came.
 */
export function bearerAllowed(header: string | undefined, tokens: readonly string[]): boolean {
  const given = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : '';
  let allowed = false;
  for (const token of tokens) allowed = sameText(given, token) || allowed;
  return given !== '' && allowed;
}

function sameText(given: string, token: string): boolean {
  let diff = given.length ^ token.length;
  for (let i = 0; i < token.length; i++) diff |= token.charCodeAt(i) ^ (given.charCodeAt(i) || 0);
  return diff === 0;
}
