/**
 * Spelling suggestions for unknown names (`wieght` → `weight`), so a typo in a field, from
 * JavaScript or `--set`, fails with the fix rather than with a list to read.
 *
 * @module
 */

/** Levenshtein distance of two strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** The first of `names` equal to `name` but for case or within two edits, if any. */
export function closest(name: string, names: readonly string[]): string | undefined {
  return names.find((n) => n.toLowerCase() === name.toLowerCase() || editDistance(n, name) <= 2);
}
