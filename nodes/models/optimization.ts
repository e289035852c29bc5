/** The optimisation params every training node has: Adam steps and learning rate, with per-node defaults. */
import * as Param from "../../dsl/Param.ts"

export const optimizationParams = (defaults: { readonly steps: number; readonly lr: number }) => ({
  steps: Param.int({ default: defaults.steps, min: 1, description: "Adam steps" }),
  lr: Param.number({ default: defaults.lr, min: 0, exclusiveMin: true, description: "Adam learning rate" })
})

/** The `hidden` param of a node that trains a one-hidden-layer MLP (see Mlp.hiddenLayers): 0 units is a linear model. */
export const hiddenParam = (defaultUnits: number, description = "Hidden units of the one hidden layer; 0 for a linear model") =>
  Param.int({ default: defaultUnits, min: 0, description })
