/**
 * A fresh grid-world policy for the environments of a Trajectories table: an MLP over
 * the egocentric view (nodes/models/GridPolicy.ts) whose actions start close to uniform.
 * What policy/ppoGrid starts from when it learns without demonstrations.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, Trajectories } from "../artifacts.ts"
import * as GridPolicy from "../models/GridPolicy.ts"
import * as GridRollout from "../models/GridRollout.ts"

export const gridInit = Node.make({
  kind: "policy/gridInit",
  version: 1,
  description: "A freshly initialised grid-world policy (MLP over an egocentric view of the layout), close to uniform, sized to the environments' grids.",
  tensors: true,
  params: Schema.Struct({ ...GridPolicy.architectureParams, seed: Param.seed }),
  inputs: { environments: Trajectories },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const side = GridRollout.largestSide(GridRollout.environments(inputs.environments))
      const policy = GridPolicy.init(GridPolicy.configOf(params, side), ctx.random.split("init"))
      try {
        return GridPolicy.toModel(policy)
      } finally {
        GridPolicy.dispose(policy)
      }
    })
})
