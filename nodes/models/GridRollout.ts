/**
 * Episodes of a grid policy, shared by the nodes that train grid policies on their own
 * experience (policy/ppoGrid) and evaluate them (evaluate/episodes): the environments
 * named by a Trajectories table, and N episodes run side by side, one forward pass of
 * the policy per time step for all episodes still running. An episode ends at the goal
 * or after `maxSteps` steps. Nothing here is on the gradient tape.
 */
import type { ValueOf } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"
import type { Trajectories } from "../artifacts.ts"
import * as GridEnvironment from "../data/GridEnvironment.ts"
import * as GridPolicy from "./GridPolicy.ts"
import type * as Sampling from "./Sampling.ts"

/** An environment of a Trajectories table: its id and its parsed layout. */
export interface Environment {
  readonly env: number
  readonly grid: GridEnvironment.Grid
}

/**
 * The distinct environments of a Trajectories table, by id. The table's demonstration
 * steps are not used: any table with a row per environment names them (data/gridWorld with
 * `demonstrations` ≥ 1).
 */
export const environments = (table: ValueOf<typeof Trajectories>): Array<Environment> => {
  const layouts = new Map<number, string>()
  for (const row of table) if (!layouts.has(row.env)) layouts.set(row.env, row.layout)
  if (layouts.size === 0) {
    throw new InputError({ reason: "the Trajectories table has no rows, so it names no environments (make it with data.gridWorld and demonstrations ≥ 1)" })
  }
  return [...layouts].sort((a, b) => a[0] - b[0]).map(([env, layout]) => ({ env, grid: GridEnvironment.parse(layout) }))
}

/** The side of the largest grid among the environments (for a policy that sees a whole grid). */
export const largestSide = (envs: ReadonlyArray<Environment>): number =>
  Math.max(...envs.map((e) => Math.max(e.grid.width, e.grid.height)))

/** One episode: what the policy saw and did at each step, and how it ended. */
export interface Episode {
  readonly env: number
  /** observations before each step, concatenated. [steps · D] */
  readonly observations: Float32Array
  readonly actions: ReadonlyArray<GridEnvironment.Action>
  /** log π(a_t | s_t) under the acting policy */
  readonly logProbs: ReadonlyArray<number>
  readonly rewards: ReadonlyArray<number>
  /** true when the episode reached the goal; false when it ran out of steps */
  readonly success: boolean
  /** the observation after the last step (the state a truncated episode would continue from). [D] */
  readonly last: Float32Array
}

/** Run one episode in each of `envs` with the policy, all side by side. */
export const run = (
  policy: GridPolicy.GridPolicy,
  envs: ReadonlyArray<Environment>,
  options: { readonly maxSteps: number; readonly sampling: Sampling.Options },
  rng: Random
): Array<Episode> => {
  const { radius } = policy.config
  const D = GridPolicy.observationSize(radius)
  const states = envs.map((e) => GridEnvironment.initial(e.grid))
  const steps = envs.map(() => ({ observations: [] as Array<Float32Array>, actions: [] as Array<GridEnvironment.Action>, logProbs: [] as Array<number>, rewards: [] as Array<number> }))
  for (let t = 0; t < options.maxSteps; t++) {
    const running = states.flatMap((s, i) => (s.done ? [] : [i]))
    if (running.length === 0) break
    const seen = GridPolicy.observations(radius, running.map((i) => ({ grid: envs[i]!.grid, state: states[i]! })))
    const { actions, logProbs } = GridPolicy.act(policy, seen, options.sampling, rng)
    running.forEach((i, j) => {
      const { state, reward } = GridEnvironment.step(envs[i]!.grid, states[i]!, actions[j]!)
      const record = steps[i]!
      record.observations.push(seen.subarray(j * D, (j + 1) * D))
      record.actions.push(actions[j]!)
      record.logProbs.push(logProbs[j]!)
      record.rewards.push(reward)
      states[i] = state
    })
  }
  return envs.map((e, i) => {
    const record = steps[i]!
    const observations = new Float32Array(record.observations.length * D)
    record.observations.forEach((o, t) => observations.set(o, t * D))
    return {
      env: e.env,
      observations,
      actions: record.actions,
      logProbs: record.logProbs,
      rewards: record.rewards,
      success: states[i]!.done,
      last: GridPolicy.observations(radius, [{ grid: e.grid, state: states[i]! }])
    }
  })
}
