/**
 * Behaviour cloning of a grid-world policy (Pomerleau, 1991; the pretraining step of
 * demonstration-then-RL pipelines): a fresh grid policy (nodes/models/GridPolicy.ts)
 * trained with Adam to maximise the log-likelihood of the demonstrated actions,
 *
 *   L(θ) = −(1/B) Σ_i log π_θ(a_i | s_i)
 *
 * over minibatches of demonstration steps (s_i, a_i) drawn at random each step. Every
 * environment of the table contributes its layout to the observations, so the policy
 * learns from demonstrations in many layouts at once.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, Trajectories } from "../artifacts.ts"
import * as GridEnvironment from "../data/GridEnvironment.ts"
import { mean } from "../evaluate/math.ts"
import * as GridPolicy from "../models/GridPolicy.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as Train from "../models/Train.ts"
import * as GridRollout from "../models/GridRollout.ts"
import { batchParam } from "./Trainer.ts"

export const imitationPretrain = Node.make({
  kind: "policy/imitationPretrain",
  version: 1,
  description: "Behaviour cloning: a grid-world policy trained by cross-entropy on the demonstrated actions of a Trajectories table.",
  tensors: true,
  metrics: { loss: "cross-entropy of the minibatch's demonstrated actions (every 10 steps and the last)", accuracy: "fraction of demonstration steps whose action is the policy's likeliest, at the end" },
  params: Schema.Struct({
    ...GridPolicy.architectureParams,
    batch: batchParam(128, "demonstration steps"),
    ...optimizationParams({ steps: 300, lr: 0.003 }),
    seed: Param.seed
  }),
  inputs: { demonstrations: Trajectories },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const envs = GridRollout.environments(inputs.demonstrations)
      const grids = new Map(envs.map((e) => [e.env, e.grid]))
      const rows = inputs.demonstrations
      const config = GridPolicy.configOf(params, GridRollout.largestSide(envs))
      const D = GridPolicy.observationSize(config.radius)
      const seen = GridPolicy.observations(config.radius, rows.map((r) => ({
        grid: grids.get(r.env)!,
        state: { position: r.position, hasKey: r.hasKey, done: false } satisfies GridEnvironment.State
      })))
      const policy = GridPolicy.init(config, ctx.random.split("init"))
      const observations = tf.tensor2d(seen, [rows.length, D]) // [N, D]
      const actions = tf.tensor1d(rows.map((r) => r.action), "int32") // [N]
      try {
        const batches = ctx.random.split("batches")
        const size = Math.min(params.batch, rows.length)
        yield* Train.fit({
          ctx,
          steps: params.steps,
          variables: GridPolicy.variables(policy),
          lr: params.lr,
          random: batches,
          loss: () => {
            const picked = tf.tensor1d(Array.from({ length: size }, () => batches.int(rows.length)), "int32")
            return tf.neg(tf.mean(GridPolicy.logProbs(policy, tf.gather(observations, picked) as tf.Tensor2D, tf.gather(actions, picked) as tf.Tensor1D))) as tf.Scalar
          },
          itemsPerStep: size,
          unit: "steps"
        })
        const likeliest = tf.tidy(() => tf.argMax(GridPolicy.logits(policy, observations), -1).dataSync())
        ctx.metric("accuracy", mean(rows.map((r, i) => (likeliest[i] === r.action ? 1 : 0))), params.steps)
        return GridPolicy.toModel(policy)
      } finally {
        tf.dispose([observations, actions])
        GridPolicy.dispose(policy)
      }
    })
})
