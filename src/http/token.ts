/** Compares every character whatever the first difference, so timing says nothing about the token. */
export function sameToken(given: string, token: string): boolean {
  let diff = given.length ^ token.length;
  for (let i = 0; i < token.length; i++) diff |= token.charCodeAt(i) ^ (given.charCodeAt(i) || 0);
  return diff === 0;
}
