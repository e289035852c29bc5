/** The optimisation params every training node has: Adam steps and learning rate, with per-node defaults. */
import * as Param from "../../dsl/Param.ts"

export const optimizationParams = (defaults: { readonly steps: number; readonly lr: number }) => ({
  steps: Param.int({ default: defaults.steps, min: 1, description: "Adam steps" }),
  lr: Param.number({ default: defaults.lr, min: 0, exclusiveMin: true, description: "Adam learning rate" })
})
