/** The wanted tags a ticket does not have yet (helpdesks compare tags without case), for APIs whose update replaces the list. */
export function tagsMissing(existing: readonly string[], wanted: readonly string[]): string[] {
  const have = new Set(existing.map((t) => t.toLowerCase()));
  return wanted.filter((t) => !have.has(t.toLowerCase()));
}
