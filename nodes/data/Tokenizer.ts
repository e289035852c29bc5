/**
 * Tokenizers built from data: a word or character vocabulary of the most frequent
 * tokens in the training texts (the rest map to one unknown id), or hashed features
 * (FNV-1a of the word, modulo the number of buckets) that need no vocabulary.
 */

export type Kind = "words" | "chars" | "hashed"

/** Lower-cased word tokens (letters, digits, apostrophes), or characters. */
export const split = (kind: Kind, text: string): Array<string> =>
  kind === "chars" ? Array.from(text) : text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []

/** 32-bit FNV-1a hash of a string. */
export const fnv1a = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** A tokenizer: text → token ids in [0, size). */
export interface Tokenizer {
  readonly kind: Kind
  readonly size: number
  readonly encode: (text: string) => Array<number>
}

/**
 * Build a tokenizer of `size` ids from training texts. Vocabularies keep the
 * size − 1 most frequent tokens (ties broken alphabetically); id size − 1 is unknown.
 */
export const build = (kind: Kind, size: number, texts: Iterable<string>): Tokenizer => {
  if (kind === "hashed") return { kind, size, encode: (text) => split("words", text).map((w) => fnv1a(w) % size) }
  const counts = new Map<string, number>()
  for (const text of texts) for (const token of split(kind, text)) counts.set(token, (counts.get(token) ?? 0) + 1)
  const vocabulary = [...counts.entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, size - 1)
    .map(([token]) => token)
  const ids = new Map(vocabulary.map((token, i) => [token, i]))
  return { kind, size, encode: (text) => split(kind, text).map((token) => ids.get(token) ?? size - 1) }
}

/**
 * Bag-of-tokens features: log(1 + count) per id, then log(1 + number of tokens)
 * as one more feature (so a model can also learn length preferences).
 */
export const bagOfTokens = (tokenizer: Tokenizer, text: string): Array<number> => {
  const ids = tokenizer.encode(text)
  const counts = new Array<number>(tokenizer.size + 1).fill(0)
  for (const id of ids) counts[id]!++
  for (let i = 0; i < tokenizer.size; i++) counts[i] = Math.log1p(counts[i]!)
  counts[tokenizer.size] = Math.log1p(ids.length)
  return counts
}
