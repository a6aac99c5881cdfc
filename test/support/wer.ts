/**
 * Word error rate for speech tests: word-level Levenshtein distance between a reference and a
 * hypothesis, over normalised words (lower case, punctuation dropped), divided by the number of
 * reference words.
 */

/** The words of a text, normalised: lower case, letters/digits/apostrophes only. */
export const normalisedWords = (text: string): ReadonlyArray<string> =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9'\s]/g, " ")
    .split(/\s+/)
    .filter((word) => word.length > 0)

/** The minimum number of word substitutions, insertions and deletions turning `a` into `b`. */
export const wordDistance = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}

/** Word error rate of `hypothesis` against `reference` (0 = perfect; can exceed 1). */
export const wordErrorRate = (reference: string, hypothesis: string): number => {
  const ref = normalisedWords(reference)
  if (ref.length === 0) throw new Error("wordErrorRate: empty reference")
  return wordDistance(ref, normalisedWords(hypothesis)) / ref.length
}
