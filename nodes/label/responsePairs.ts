/**
 * Preference pairs between a policy's sampled responses: each prompt's distinct samples
 * are paired (at random, best against worst, or every pair) and labelled by a judge —
 * the task's gold reward (wire the task as `judge`), a reward model, or a General
 * Preference Model — with a Bradley–Terry temperature and label noise. The data of the
 * DPO family, KTO and SFT on chosen responses (see ./Judge.ts).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { ResponsePairs, RewardSource, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { mean } from "../evaluate/math.ts"
import * as Judge from "./Judge.ts"

export const responsePairs = Node.make({
  kind: "label/responsePairs",
  version: 1,
  description: "Pairs of a policy's sampled responses per prompt, labelled by the gold reward, a reward model or a general preference model.",
  tensors: true,
  metrics: { pairs: "pairs labelled", flipped: "fraction reversed by label noise", margin: "mean judge logit of chosen over rejected" },
  params: Schema.Struct({ ...Judge.pairingParams, seed: Param.seed }),
  inputs: { samples: Samples, task: Task, judge: RewardSource },
  output: ResponsePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      const groups = Judge.groupResponses(inputs.samples, task)
      const pairs = Judge.pairResponses(groups, Judge.of(inputs.judge, task)(groups), params, ctx.random.split("label"))
      if (pairs.length === 0) {
        return yield* new InputError({
          input: "samples",
          reason: `no pair could be labelled: every prompt's samples are identical or judged equal (${groups.length} prompts); draw more samples per prompt or use a temperature`
        })
      }
      ctx.metric("pairs", pairs.length, 0)
      ctx.metric("flipped", mean(pairs.map((p) => (p.flipped ? 1 : 0))), 0)
      ctx.metric("margin", mean(pairs.map((p) => p.margin)), 0)
      return pairs
    })
})
