/**
 * Parsing preference data in the HH-RLHF format (Bai et al., 2022,
 * https://arxiv.org/abs/2204.05862): each record holds two full dialogues,
 * `chosen` and `rejected`, that share every turn but the last Assistant turn. The
 * prompt is everything up to and including the last "\n\nAssistant:"; the responses
 * are what follows it.
 */

const assistant = "\n\nAssistant:"

/** A record that is not a valid HH-RLHF pair, with the reason. */
export class RecordError extends Error {}

/** Split one dialogue into prompt and final response. */
export const splitDialogue = (dialogue: string, field: string): { readonly prompt: string; readonly response: string } => {
  const at = dialogue.lastIndexOf(assistant)
  if (at < 0) throw new RecordError(`"${field}" has no "Assistant:" turn`)
  return { prompt: dialogue.slice(0, at + assistant.length), response: dialogue.slice(at + assistant.length).trim() }
}

/** Prompt and the two responses of one record with `chosen` and `rejected` dialogues. */
export const parseRecord = (record: unknown): { readonly prompt: string; readonly chosen: string; readonly rejected: string } => {
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new RecordError("expected a JSON object")
  const fields = record as Record<string, unknown>
  for (const field of ["chosen", "rejected"]) {
    if (typeof fields[field] !== "string") throw new RecordError(`field "${field}" must be a string, got ${fields[field] === undefined ? "nothing" : typeof fields[field]}`)
  }
  if (typeof fields["prompt"] === "string") {
    return { prompt: fields["prompt"], chosen: String(fields["chosen"]).trim(), rejected: String(fields["rejected"]).trim() }
  }
  const chosen = splitDialogue(String(fields["chosen"]), "chosen")
  const rejected = splitDialogue(String(fields["rejected"]), "rejected")
  return { prompt: chosen.prompt, chosen: chosen.response, rejected: rejected.response }
}
