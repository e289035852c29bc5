/**
 * Parsing preference data in the HH-RLHF format (Bai et al., 2022,
 * https://arxiv.org/abs/2204.05862): each record holds two full dialogues,
 * `chosen` and `rejected`, that share every turn but the last Assistant turn. The
 * prompt is everything up to and including the last "\n\nAssistant:"; the responses
 * are what follows it. A few records' dialogues part earlier (in the harmless test
 * split, one in 1,500): their prompt is the shared part up to its last
 * "\n\nAssistant:", and each response holds every turn from there on.
 */
import type { ValueOf } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { TextPreferences } from "../artifacts.ts"

const assistant = "\n\nAssistant:"

/** A preference pair of texts, as a TextPreferences row holds it: the shared prompt and the two responses, the first preferred. */
export type TextPair = Omit<ValueOf<typeof TextPreferences>[number], "id" | "split">

const sharedLength = (a: string, b: string): number => {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

const describe = (value: unknown): string => (value === undefined || value === null ? "nothing" : typeof value)

/**
 * The pair of one record: `chosen` and `rejected` dialogues, or an explicit `prompt` with bare
 * responses. Throws an `InputError` naming the field (when one is at fault) and why the record
 * is not a valid pair; the caller adds the file and line.
 */
export const parseRecord = (record: unknown): TextPair => {
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new InputError({ reason: "expected a JSON object" })
  const fields = record as Readonly<Record<string, unknown>>
  const text = (field: string): string => {
    const value = fields[field]
    if (typeof value !== "string") throw new InputError({ field, reason: `must be a string, got ${describe(value)}` })
    return value
  }
  const chosen = text("chosen")
  const rejected = text("rejected")
  if (fields["prompt"] !== undefined) return { prompt: text("prompt"), chosen: chosen.trim(), rejected: rejected.trim() }
  for (const [field, dialogue] of [["chosen", chosen], ["rejected", rejected]] as const) {
    if (!dialogue.includes(assistant)) throw new InputError({ field, reason: `has no "Assistant:" turn` })
  }
  // the last Assistant turn that lies wholly inside the part both dialogues share
  const shared = sharedLength(chosen, rejected)
  const at = shared < assistant.length ? -1 : chosen.lastIndexOf(assistant, shared - assistant.length)
  if (at < 0) throw new InputError({ reason: `"chosen" and "rejected" share no "Assistant:" turn: they differ from the first one on` })
  const end = at + assistant.length
  return { prompt: chosen.slice(0, end), chosen: chosen.slice(end).trim(), rejected: rejected.slice(end).trim() }
}
