/**
 * Win rate of a policy against a reference under the gold reward: sample i of each
 * prompt from the policy is compared with sample i of the same prompt from the
 * reference; a higher gold reward wins, equal rewards count ½. The 95% interval is
 * over prompts (see ablate/math's meanInterval).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { Samples, Task, WinRate } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { bySplit, meanInterval } from "./math.ts"

export const winRate = Node.make({
  kind: "evaluate/winRate",
  version: 1,
  description: "How often the policy's sample beats the reference's sample for the same prompt under the gold reward (ties ½), with a 95% interval.",
  metrics: { "<split>/winRate": "win rate per split" },
  results: ["<split>/winRate"],
  params: Schema.Struct({}),
  inputs: { samples: Samples, reference: Samples, task: Task },
  output: WinRate,
  run: ({ inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      const reference = new Map(inputs.reference.map((s) => [`${s.prompt}/${s.sample}`, s]))
      const pairs = inputs.samples.flatMap((s) => {
        const r = reference.get(`${s.prompt}/${s.sample}`)
        return r === undefined ? [] : [{ prompt: s.prompt, split: s.split, outcome: Math.sign(task.gold(s.prompt, s.response) - task.gold(r.prompt, r.response)) }]
      })
      if (pairs.length === 0) {
        return yield* new InputError({
          input: "reference",
          reason: "the policy's and the reference's samples share no (prompt, sample) pair; sample both on the same prompts"
        })
      }
      return bySplit(pairs).map(([split, group]) => {
        const interval = meanInterval(group.map((p) => (p.outcome + 1) / 2), group.map((p) => p.prompt))
        ctx.metric(`${split}/winRate`, interval.mean, 0)
        return { split, winRate: interval.mean, lower: interval.lower, upper: interval.upper, ties: group.filter((p) => p.outcome === 0).length, pairs: group.length }
      })
    })
})
