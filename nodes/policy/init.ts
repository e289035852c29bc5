/**
 * A starting or reference policy for a task: for a bandit task, a tabular softmax
 * policy (uniform, or with N(0, scale²) logits); for a sequence task, a freshly
 * initialised tiny transformer sized to the task's vocabulary and lengths. The
 * policy-optimisation nodes start from it and regularise towards it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import * as TabularPolicy from "../models/TabularPolicy.ts"
import * as Transformer from "../models/Transformer.ts"

export const init = Node.make({
  kind: "policy/init",
  version: 1,
  description: "A reference policy for a task: tabular (uniform or random logits) for a bandit, a freshly initialised tiny transformer for a sequence task.",
  tensors: true,
  params: Schema.Struct({
    scale: Param.number({ default: 0, min: 0, description: "Tabular: standard deviation of the initial logits (0 for the uniform policy)" }),
    width: Param.int({ default: 32, min: 1, description: "Transformer: model width" }),
    layers: Param.int({ default: 1, min: 1, description: "Transformer: number of blocks" }),
    heads: Param.int({ default: 2, min: 1, description: "Transformer: attention heads (must divide the width)" }),
    seed: Param.seed
  }),
  inputs: { task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      const rng = ctx.random.split("init")
      if (task.kind === "bandit") {
        const policy = TabularPolicy.init({ prompts: Math.max(...task.prompts.map((p) => p.id)) + 1, responses: task.vocab }, rng, params.scale)
        try {
          return TabularPolicy.toModel(policy)
        } finally {
          TabularPolicy.dispose(policy)
        }
      }
      const model = Transformer.init({
        vocab: task.vocab,
        length: task.prompts[0]!.tokens.length + task.responseLength,
        width: params.width,
        layers: params.layers,
        heads: params.heads
      }, rng)
      try {
        return Transformer.toModel(model)
      } finally {
        Transformer.dispose(model)
      }
    })
})
