/**
 * A grid-world policy: an MLP from an egocentric view of the grid to the logits of the
 * four moves (up, right, down, left; see nodes/data/GridEnvironment.ts). Layouts differ
 * from one generated environment to the next, so the observation carries the layout
 * itself, centred on the agent: for each cell of a (2r + 1) × (2r + 1) window around it,
 * one-hot channels for wall, goal, key not yet picked up and door (cells off the grid
 * are walls), then whether the agent holds the key. Centring on the agent makes the
 * same local situation look the same wherever it happens, which is what lets a policy
 * learnt in a few layouts act in new ones; radius side − 1 sees the whole grid from any
 * cell. The same observation feeds a value function (`initValue`, `values`) for PPO.
 *
 * Stored as a Policy artifact with `config.architecture: "grid"`: the view radius and
 * the MLP's weights (`l{i}.w`, `l{i}.b`, as nodes/models/Mlp.ts). The last layer starts
 * at 1/100 of Mlp's scale, so a fresh policy is close to uniform (Andrychowicz et al.,
 * 2021, "What Matters in On-Policy Reinforcement Learning?", https://arxiv.org/abs/2006.05990).
 * The layers use Ops.linear, whose gradients avoid the wasm backend's slow transposed products.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { ArgumentError, InputError, InvariantError } from "../../dsl/Errors.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import * as GridEnvironment from "../data/GridEnvironment.ts"
import * as Mlp from "./Mlp.ts"
import { linear } from "./Ops.ts"
import * as Sampling from "./Sampling.ts"
import { required, toVariable } from "./Tensors.ts"

export interface GridPolicyConfig {
  /** the view is the (2·radius + 1)² cells centred on the agent */
  readonly radius: number
  /** units of each hidden layer */
  readonly hidden: ReadonlyArray<number>
}

export interface GridPolicy {
  readonly config: GridPolicyConfig
  readonly mlp: Mlp.Mlp
}

/** Moves a policy chooses among. */
export const actionCount = GridEnvironment.actions.length

/** Channels per cell of the view: wall, goal, key (not yet held), door. */
const channels = 4

/** Length of an observation of a view of this radius. */
export const observationSize = (radius: number): number => (2 * radius + 1) ** 2 * channels + 1

/** The params of a node that makes a grid policy: view radius and hidden layers. */
export const architectureParams = {
  radius: Param.int({ default: 0, min: 0, description: "Radius r of the egocentric (2r + 1)² view; 0 sees the whole grid from any cell (side − 1)" }),
  hidden: Param.int({ default: 64, min: 1, description: "Units of each hidden layer" }),
  layers: Param.int({ default: 1, min: 0, description: "Hidden layers (tanh); 0 for a linear policy" })
}

/** The config of a grid policy made with `architectureParams` for grids of the given side. */
export const configOf = (params: { readonly radius: number; readonly hidden: number; readonly layers: number }, side: number): GridPolicyConfig => ({
  radius: params.radius === 0 ? side - 1 : params.radius,
  hidden: Array.from({ length: params.layers }, () => params.hidden)
})

/** The observation of `state` in `grid` for a view of `radius`, written into `out` at `offset`. */
export const observe = (grid: GridEnvironment.Grid, state: GridEnvironment.State, radius: number, out: Float32Array, offset = 0): void => {
  const side = 2 * radius + 1
  const x0 = (state.position % grid.width) - radius
  const y0 = Math.floor(state.position / grid.width) - radius
  for (let dy = 0; dy < side; dy++) {
    for (let dx = 0; dx < side; dx++) {
      const x = x0 + dx
      const y = y0 + dy
      const cell = x < 0 || y < 0 || x >= grid.width || y >= grid.height ? "#" : grid.cells[y * grid.width + x]!
      const at = offset + (dy * side + dx) * channels
      out[at] = cell === "#" ? 1 : 0
      out[at + 1] = cell === "G" ? 1 : 0
      out[at + 2] = cell === "K" && !state.hasKey ? 1 : 0
      out[at + 3] = cell === "D" ? 1 : 0
    }
  }
  out[offset + side * side * channels] = state.hasKey ? 1 : 0
}

/** Observations of (grid, state) pairs. → [N, observationSize(radius)] */
export const observations = (
  radius: number,
  situations: ReadonlyArray<{ readonly grid: GridEnvironment.Grid; readonly state: GridEnvironment.State }>
): Float32Array => {
  const size = observationSize(radius)
  const out = new Float32Array(situations.length * size)
  situations.forEach(({ grid, state }, i) => observe(grid, state, radius, out, i * size))
  return out
}

const scaleLastLayer = (mlp: Mlp.Mlp, factor: number): Mlp.Mlp => {
  const last = mlp.layers.at(-1)!.w
  tf.tidy(() => last.assign(tf.mul(last, factor)))
  return mlp
}

/** A freshly initialised policy, close to uniform. */
export const init = (config: GridPolicyConfig, rng: Random): GridPolicy => {
  if (!Number.isInteger(config.radius) || config.radius < 1) {
    throw new ArgumentError({ function: "GridPolicy.init", argument: "radius", reason: `(of the view) must be a positive integer, got ${config.radius}` })
  }
  return { config, mlp: scaleLastLayer(Mlp.init({ inputs: observationSize(config.radius), hidden: config.hidden, outputs: actionCount }, rng), 0.01) }
}

/** A freshly initialised value function over the policy's observations (one output). */
export const initValue = (config: GridPolicyConfig, rng: Random): Mlp.Mlp =>
  Mlp.init({ inputs: observationSize(config.radius), hidden: config.hidden, outputs: 1 }, rng)

/** The MLP's outputs. x: [N, inputs] → [N, outputs] */
const forward = (mlp: Mlp.Mlp, x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    let h: tf.Tensor = x
    mlp.layers.forEach(({ w, b }, i) => {
      h = linear(h, w, b)
      if (i < mlp.layers.length - 1) h = tf.tanh(h)
    })
    return h as tf.Tensor2D
  })

/** Action logits. observations: [N, D] → [N, 4] */
export const logits = (policy: GridPolicy, observations: tf.Tensor2D): tf.Tensor2D => forward(policy.mlp, observations)

/** log π(· | s) for each observation. [N, D] → [N, 4] */
export const logDistribution = (policy: GridPolicy, observations: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.logSoftmax(logits(policy, observations)) as tf.Tensor2D)

/** log π(a | s) of each observation's action. observations: [N, D], actions: [N] int32 → [N] */
export const logProbs = (policy: GridPolicy, observations: tf.Tensor2D, actions: tf.Tensor1D): tf.Tensor1D =>
  tf.tidy(() => tf.sum(tf.mul(logDistribution(policy, observations), tf.oneHot(actions, actionCount)), -1) as tf.Tensor1D)

/** A value function's estimate of each observation. [N, D] → [N] */
export const values = (value: Mlp.Mlp, observations: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => tf.reshape(forward(value, observations), [-1]) as tf.Tensor1D) // [N, 1] → [N]

/**
 * Draw an action for each of N observations (`observations` holds N rows of D), greedy at
 * temperature 0, with log π of each under the policy itself (temperature 1).
 */
export const act = (
  policy: GridPolicy,
  observations: Float32Array,
  options: Sampling.Options,
  rng: Random
): { readonly actions: Array<GridEnvironment.Action>; readonly logProbs: Array<number> } => {
  const D = observationSize(policy.config.radius)
  const N = observations.length / D
  const out = tf.tidy(() => logits(policy, tf.tensor2d(observations, [N, D])))
  const rows = out.dataSync()
  out.dispose()
  const actions: Array<GridEnvironment.Action> = []
  const logProbs: Array<number> = []
  for (let i = 0; i < N; i++) {
    const row = rows.subarray(i * actionCount, (i + 1) * actionCount)
    const action = Sampling.draw(row, options, rng) as GridEnvironment.Action
    actions.push(action)
    logProbs.push(Sampling.logSoftmaxAt(row, action))
  }
  return { actions, logProbs }
}

/** The trainable variables by name (`l0.w`, `l0.b`, ...). */
export const variables = (policy: GridPolicy): Record<string, tf.Variable> => Mlp.variables(policy.mlp)

/** The policy as a Policy artifact value (its current weights). */
export const toModel = (policy: GridPolicy): ModelValue => {
  const { tensors } = Mlp.toModel(policy.mlp)
  return { config: { architecture: "grid", radius: policy.config.radius, hidden: [...policy.config.hidden] }, tensors }
}

/** Load a Policy artifact value written by `toModel`; fails naming the architecture when it is not a grid policy. */
export const fromModel = (value: ModelValue): GridPolicy => {
  const architecture = value.config["architecture"]
  if (architecture !== "grid") {
    throw new InputError({
      reason: `a grid-world policy has architecture "grid", not "${String(architecture)}" (make one with policy.gridInit or policy.imitationPretrain)`
    })
  }
  const config: GridPolicyConfig = { radius: value.config["radius"] as number, hidden: value.config["hidden"] as ReadonlyArray<number> }
  const dims = [observationSize(config.radius), ...config.hidden, actionCount]
  const tensor = (name: string, shape: ReadonlyArray<number>) => {
    const t = required(value.tensors, name, "grid policy")
    if (t.shape.join() !== shape.join()) throw new InvariantError({ what: `grid policy tensor "${name}"`, reason: `has shape [${t.shape}], expected [${shape}]` })
    return toVariable(t)
  }
  const layers = dims.slice(1).map((fanOut, i) => ({ w: tensor(`l${i}.w`, [dims[i]!, fanOut]), b: tensor(`l${i}.b`, [fanOut]) }))
  return { config, mlp: { config: { inputs: dims[0]!, hidden: config.hidden, outputs: actionCount }, layers } }
}

/** Load a grid policy, use it, and free its tensors however `use` ends. */
export const withLoaded = <A>(value: ModelValue, use: (policy: GridPolicy) => A): A => {
  const policy = fromModel(value)
  try {
    return use(policy)
  } finally {
    dispose(policy)
  }
}

/** Free the policy's variables. */
export const dispose = (policy: GridPolicy): void => Mlp.dispose(policy.mlp)
