/**
 * One view of the tasks whose gold reward is known for any response, so that the
 * sampling, scoring and evaluation nodes work on bandit tasks and sequence tasks alike.
 *
 * A bandit task (`Items`, e.g. from data/banditTask) has prompts with K candidate
 * responses each; a response is one token, the candidate's index among its prompt's
 * items in item order; its gold reward and features are the item's; a prompt's split is
 * its first item's. A task without prompts (data/preferenceTask) is a bandit with one
 * prompt over all its items. A `SequenceTask` has
 * token prompts; a response is `responseLength` tokens; its features are the token
 * counts of the response and of the prompt, each divided by its length.
 */
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { Items, SequenceTask, Task } from "../artifacts.ts"
import { configOf, goldOf } from "./SequenceGold.ts"

export interface Prompt {
  readonly id: number
  readonly tokens: ReadonlyArray<number>
  readonly split: "train" | "test"
}

/** A prompt and one of its responses as one string: the same response to the same prompt, the same key. */
export const responseKey = (prompt: Prompt, response: ReadonlyArray<number>): string => `${prompt.id}:${response.join(",")}`

interface View {
  readonly prompts: ReadonlyArray<Prompt>
  /** tokens a response may use (a bandit's K) */
  readonly vocab: number
  /** tokens per response (1 for a bandit) */
  readonly responseLength: number
  /** the prompt with this id; fails naming it when there is none */
  readonly prompt: (id: number) => Prompt
  /** the gold reward of a response */
  readonly gold: (prompt: number, response: ReadonlyArray<number>) => number
  /** a feature vector of a response, for reward models over features */
  readonly features: (prompt: number, response: ReadonlyArray<number>) => ReadonlyArray<number>
}

export interface BanditView extends View {
  readonly kind: "bandit"
}

export interface SequenceView extends View {
  readonly kind: "sequence"
}

/** A task as the nodes see it; its `kind` tells a bandit from a sequence task. */
export type TaskView = BanditView | SequenceView

const lookup = (prompts: ReadonlyMap<number, Prompt>) => (id: number): Prompt => {
  const prompt = prompts.get(id)
  if (prompt === undefined) throw new InputError({ reason: `the task has no prompt ${id}` })
  return prompt
}

const bandit = (items: ValueOf<typeof Items>): BanditView => {
  const byPrompt = new Map<number, Array<ValueOf<typeof Items>[number]>>()
  for (const item of [...items].sort((a, b) => a.item - b.item)) {
    const group = byPrompt.get(item.prompt) ?? []
    group.push(item)
    byPrompt.set(item.prompt, group)
  }
  const sizes = new Set([...byPrompt.values()].map((g) => g.length))
  if (sizes.size !== 1) {
    throw new InputError({
      input: "task",
      reason: `the task's prompts have different numbers of responses (${[...sizes].sort().join(", ")}); a bandit needs the same K for every prompt`
    })
  }
  const K = [...sizes][0]!
  const prompts = new Map([...byPrompt].map(([id, group]): [number, Prompt] => [id, { id, tokens: [], split: group[0]!.split }]))
  const item = (prompt: number, response: ReadonlyArray<number>) => {
    const k = response[0]
    const row = k === undefined || response.length !== 1 ? undefined : byPrompt.get(prompt)?.[k]
    if (row === undefined) throw new InputError({ reason: `prompt ${prompt} has no response [${response.join(", ")}] (a bandit response is one index below ${K})` })
    return row
  }
  return {
    kind: "bandit",
    prompts: [...prompts.values()].sort((a, b) => a.id - b.id),
    vocab: K,
    responseLength: 1,
    prompt: lookup(prompts),
    gold: (prompt, response) => item(prompt, response).gold,
    features: (prompt, response) => item(prompt, response).features
  }
}

const counts = (tokens: ReadonlyArray<number>, V: number): Array<number> => {
  const out = new Array<number>(V).fill(0)
  for (const t of tokens) out[t]! += 1 / tokens.length
  return out
}

const sequence = (value: ModelValue): SequenceView => {
  const config = configOf(value)
  const test = new Set(config.test)
  const prompts = new Map(config.prompts.map((tokens, id): [number, Prompt] => [id, { id, tokens, split: test.has(id) ? "test" : "train" }]))
  const prompt = lookup(prompts)
  const gold = goldOf(config, value.tensors)
  const V = config.vocab.length
  const check = (response: ReadonlyArray<number>) => {
    if (response.length !== config.responseLength || response.some((t) => !Number.isInteger(t) || t < 0 || t >= V)) {
      throw new InputError({ reason: `response [${response.join(", ")}] is not ${config.responseLength} tokens below ${V}` })
    }
    return response
  }
  return {
    kind: "sequence",
    prompts: [...prompts.values()],
    vocab: V,
    responseLength: config.responseLength,
    prompt,
    gold: (id, response) => gold(prompt(id).tokens, check(response)),
    features: (id, response) => [...counts(check(response), V), ...counts(prompt(id).tokens, V)]
  }
}

/** The view of a task artifact's value (Items or a SequenceTask); of `Items`, a bandit; of a `SequenceTask`, a sequence task. */
export function view(task: ValueOf<typeof Items>): BanditView
export function view(task: ValueOf<typeof SequenceTask>): SequenceView
export function view(task: ValueOf<typeof Task>): TaskView
export function view(task: ValueOf<typeof Task>): TaskView {
  return Array.isArray(task) ? bandit(task as ValueOf<typeof Items>) : sequence(task as ModelValue)
}

/** Prompts of a split ("all" for every prompt). */
export const promptsOf = (task: TaskView, split: "train" | "test" | "all"): ReadonlyArray<Prompt> =>
  split === "all" ? task.prompts : task.prompts.filter((p) => p.split === split)
