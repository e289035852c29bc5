/**
 * Parsing preference data in the HH-RLHF format (Bai et al., 2022,
 * https://arxiv.org/abs/2204.05862): each record holds two full dialogues,
 * `chosen` and `rejected`, that share every turn but the last Assistant turn. The
 * prompt is everything up to and including the last "\n\nAssistant:"; the responses
 * are what follows it. A few records' dialogues part earlier (in the harmless test
 * split, one in 1,500): their prompt is the shared part up to its last
 * "\n\nAssistant:", and each response holds every turn from there on.
 */

const assistant = "\n\nAssistant:"

/** A record that is not a valid HH-RLHF pair, with the reason. */
export class RecordError extends Error {}

const sharedLength = (a: string, b: string): number => {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

/** Prompt and the two responses of one record with `chosen` and `rejected` dialogues (or an explicit `prompt`). */
export const parseRecord = (record: unknown): { readonly prompt: string; readonly chosen: string; readonly rejected: string } => {
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new RecordError("expected a JSON object")
  const fields = record as Record<string, unknown>
  const [chosen, rejected] = (["chosen", "rejected"] as const).map((field) => {
    const value = fields[field]
    if (typeof value !== "string") throw new RecordError(`field "${field}" must be a string, got ${value === undefined || value === null ? "nothing" : typeof value}`)
    return value
  }) as [string, string]
  const prompt = fields["prompt"]
  if (typeof prompt === "string") return { prompt, chosen: chosen.trim(), rejected: rejected.trim() }
  for (const [field, dialogue] of [["chosen", chosen], ["rejected", rejected]]) {
    if (!dialogue!.includes(assistant)) throw new RecordError(`"${field}" has no "Assistant:" turn`)
  }
  // the last Assistant turn that lies wholly inside the part both dialogues share
  const at = chosen.lastIndexOf(assistant, sharedLength(chosen, rejected) - assistant.length)
  if (at < 0) throw new RecordError(`"chosen" and "rejected" share no "Assistant:" turn: they differ from the first one on`)
  const end = at + assistant.length
  return { prompt: chosen.slice(0, end), chosen: chosen.slice(end).trim(), rejected: rejected.slice(end).trim() }
}
