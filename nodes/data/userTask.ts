/**
 * A task as one user type sees it: the task's items with the type's reward r_t(x) = w_t·x
 * (label/userTypes) as their gold reward. Evaluating a policy's samples against it
 * (evaluate/goldReward) gives the policy's reward for that type of user.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, UserTypes } from "../artifacts.ts"
import { dot } from "./math.ts"

export const userTask = Node.make({
  kind: "data/userTask",
  version: 1,
  description: "A task's items with one user type's reward as their gold reward.",
  params: Schema.Struct({
    type: Param.string({ default: "type0", description: "The user type (type0, type1, … as label/userTypes names them)" })
  }),
  inputs: { task: Items, users: UserTypes },
  output: Items,
  run: ({ params, inputs }) =>
    Effect.gen(function*() {
      const user = inputs.users.find((u) => u.type === params.type)
      if (user === undefined) {
        return yield* new InputError({ input: "users", param: "type", reason: `there is no user type "${params.type}" (the types: ${inputs.users.map((u) => u.type).join(", ")})` })
      }
      return inputs.task.map((item) => ({ ...item, gold: dot(user.weights, item.features) }))
    })
})
