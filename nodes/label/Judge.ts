/**
 * Judging responses to the same prompt and pairing them into preferences, shared by
 * label/responsePairs and the online trainers that label their own samples
 * (policy/iterativeDpo). A judge gives the logit of P(a ≻ b) for every two responses of
 * a prompt: the gold or a reward model's reward difference r(a) − r(b) (Bradley–Terry),
 * or a General Preference Model's skew-symmetric score s(a ≻ b), which need not come
 * from any scalar reward.
 */
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import type { ResponsePair, RewardSource } from "../artifacts.ts"
import type { Prompt, TaskView } from "../data/Task.ts"
import { mean } from "../evaluate/math.ts"
import * as PreferenceModel from "../models/PreferenceModel.ts"
import * as Rewards from "../models/RewardSource.ts"
import { preferenceProbability } from "./math.ts"

/** A prompt's distinct responses, to be judged and paired. */
export interface Group {
  readonly prompt: Prompt
  readonly responses: ReadonlyArray<ReadonlyArray<number>>
}

/** Judges groups: for each, the matrix of logits L[i][j] of P(response i ≻ response j) (L[j][i] = −L[i][j]). */
export type Judge = (groups: ReadonlyArray<Group>) => Array<Array<Array<number>>>

/** The judge of a wired reward source: scalar rewards' differences, or a General Preference Model's scores. */
export const of = (value: ValueOf<typeof RewardSource>, task: TaskView): Judge => {
  if (!Array.isArray(value) && (value as ModelValue).config["preference"] === "general") return general(value as ModelValue, task)
  const source = Rewards.of(value, task)
  return (groups) => {
    const { rewards } = source.score(groups.flatMap((g) => g.responses.map(() => g.prompt)), groups.flatMap((g) => g.responses))
    let offset = 0
    return groups.map((g) => {
      const r = rewards.slice(offset, (offset += g.responses.length))
      return r.map((ri) => r.map((rj) => ri - rj))
    })
  }
}

const general = (model: ModelValue, task: TaskView): Judge => (groups) => {
  // one batch of every pair i < j of every group, scored s(i ≻ j)
  const pairs = groups.flatMap((g, k) =>
    g.responses.flatMap((a, i) => g.responses.slice(i + 1).map((b, d) => ({ k, i, j: i + 1 + d, a, b, prompt: g.prompt.id })))
  )
  const scores = PreferenceModel.scores(model, pairs.map((p) => ({
    chosen: task.features(p.prompt, p.a),
    rejected: task.features(p.prompt, p.b),
    label: 1,
    user: "",
    source: "",
    split: "train" as const
  })))
  const matrices = groups.map((g) => g.responses.map(() => new Array<number>(g.responses.length).fill(0)))
  pairs.forEach((p, n) => {
    matrices[p.k]![p.i]![p.j] = scores[n]!
    matrices[p.k]![p.j]![p.i] = -scores[n]!
  })
  return matrices
}

/** How responses of a prompt are paired. */
export type Pairing = "random" | "bestWorst" | "all"

export interface PairingOptions {
  readonly pairing: Pairing
  /** pairs per prompt drawn by "random" pairing */
  readonly pairs: number
  /** Bradley–Terry temperature of the verdict on a judge's logit; 0: the higher logit always wins, ties are dropped */
  readonly temperature: number
  /** probability that label noise reverses a verdict */
  readonly noise: number
}

/** The params of a node that pairs and labels responses (label/responsePairs, policy/iterativeDpo). */
export const pairingParams = {
  pairing: Param.literal(["random", "bestWorst", "all"], {
    default: "random",
    description: "Pairs per prompt: `pairs` random pairs of distinct responses; the judge's best against its worst (by mean logit against the others); or every pair"
  }),
  pairs: Param.int({ default: 1, min: 1, description: "Pairs per prompt, for random pairing" }),
  temperature: Param.number({ default: 0, min: 0, description: "Bradley–Terry temperature of each verdict on the judge's logit; 0 labels by the logit's sign and drops ties" }),
  noise: Param.number({ default: 0, min: 0, max: 0.5, description: "Label noise: probability of reversing a verdict" })
}

/**
 * Label pairs of each group's distinct responses with a judge's logits: a Bradley–Terry
 * verdict (P(i ≻ j) = σ(L[i][j] / T); the sign of L at T = 0, ties dropped), then label noise.
 * "bestWorst" pairs the response with the highest mean logit against the others with
 * the lowest (the large-margin pair of online DPO), judged without a draw. Groups with
 * fewer than two distinct responses give no pairs. `margin` is L[chosen][rejected].
 */
export const pairResponses = (groups: ReadonlyArray<Group>, logits: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>, options: PairingOptions, rng: Random): Array<ResponsePair> =>
  groups.flatMap((group, k) => {
    const L = logits[k]!
    const n = group.responses.length
    if (n < 2) return []
    const label = (i: number, j: number, draw: boolean): Array<ResponsePair> => {
      const p = draw ? preferenceProbability(L[i]![j]!, 0, options.temperature) : L[i]![j]! > 0 ? 1 : L[i]![j]! < 0 ? 0 : 0.5
      if (p === 0.5 && (options.temperature === 0 || !draw)) return []
      const iWins = p === 1 || (p > 0 && rng.uniform() < p)
      const flipped = options.noise > 0 && rng.uniform() < options.noise
      const [c, r] = iWins !== flipped ? [i, j] : [j, i]
      return [{ prompt: group.prompt.id, chosen: [...group.responses[c]!], rejected: [...group.responses[r]!], margin: L[c]![r]!, flipped, split: group.prompt.split }]
    }
    switch (options.pairing) {
      case "all":
        return Array.from({ length: n }, (_, i) => Array.from({ length: n - i - 1 }, (_, d) => label(i, i + 1 + d, true)).flat()).flat()
      case "random":
        return Array.from({ length: options.pairs }, () => {
          const i = rng.int(n)
          const j = (i + 1 + rng.int(n - 1)) % n
          return label(i, j, true)
        }).flat()
      case "bestWorst": {
        const scores = L.map((row, i) => mean(row.filter((_, j) => j !== i)))
        const best = scores.indexOf(Math.max(...scores))
        const worst = scores.indexOf(Math.min(...scores))
        return best === worst ? [] : label(best, worst, false)
      }
    }
  })

/** Group responses by prompt, in order of first appearance, keeping each distinct response once. */
export const groupResponses = (rows: ReadonlyArray<{ readonly prompt: number; readonly response: ReadonlyArray<number> }>, task: TaskView): Array<Group> => {
  const groups = new Map<number, Map<string, ReadonlyArray<number>>>()
  for (const row of rows) {
    const group = groups.get(row.prompt) ?? groups.set(row.prompt, new Map()).get(row.prompt)!
    group.set(row.response.join(","), row.response)
  }
  return [...groups].map(([prompt, responses]) => ({ prompt: task.prompt(prompt), responses: [...responses.values()] }))
}
