/**
 * Procedurally generated sparse-reward grid worlds (reach the goal; optionally a key
 * opens the only door on the way) and demonstration episodes in them: at each step
 * the demonstrator takes an optimal action with probability `optimality`, else a
 * uniformly random one. Every row carries its environment's layout, so a policy
 * optimisation node can rebuild the environment with `GridEnvironment.parse` and `step`.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Trajectories } from "../artifacts.ts"
import * as GridEnvironment from "./GridEnvironment.ts"

export const gridWorld = Node.make({
  kind: "data/gridWorld",
  version: 1,
  description: "Random solvable grid worlds (goal; optional key and door) and demonstrations of chosen optimality.",
  params: Schema.Struct({
    envs: Param.int({ default: 20, min: 1, description: "Number of environments" }),
    size: Param.int({ default: 7, min: 3, max: 64, description: "Side of the square grid, walls included" }),
    walls: Param.number({ default: 0.15, min: 0, max: 0.6, description: "Density of random interior walls" }),
    keyAndDoor: Param.boolean({ default: false, description: "Put a key and a door on the way to the goal" }),
    demonstrations: Param.int({ default: 5, min: 0, description: "Demonstration episodes per environment" }),
    optimality: Param.number({ default: 1, min: 0, max: 1, description: "Probability that a demonstrator step is optimal" }),
    maxSteps: Param.int({ default: 100, min: 1, description: "Episode length limit" }),
    seed: Param.seed
  }),
  inputs: {},
  output: Trajectories,
  run: ({ params, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("grids")
      const acting = ctx.random.split("demonstrations")
      return Array.from({ length: params.envs }, (_, env) => {
        const grid = GridEnvironment.generate(rng, params)
        const layout = GridEnvironment.format(grid)
        return Array.from({ length: params.demonstrations }, (_, episode) => {
          const rows = []
          let state = GridEnvironment.initial(grid)
          for (let t = 0; t < params.maxSteps && !state.done; t++) {
            const optimal = acting.uniform() < params.optimality
            const action = optimal ? GridEnvironment.shortestPath(grid, state)![0]! : GridEnvironment.actions[acting.int(4)]!
            const { state: next, reward } = GridEnvironment.step(grid, state, action)
            rows.push({ env, layout, episode, step: t, position: state.position, hasKey: state.hasKey, action, reward, done: next.done })
            state = next
          }
          return rows
        }).flat()
      }).flat()
    })
})
