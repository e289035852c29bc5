/**
 * A sequence task for the tiny transformer: random prompts over a small vocabulary
 * (or "a+b=" arithmetic prompts), a fixed response length, and a gold reward defined
 * for every response: marker-token counts, a fixed random network, or arithmetic
 * correctness (see ./SequenceGold.ts). A fraction of the prompts is held out.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { SequenceTask } from "../artifacts.ts"
import { arithmeticPrompt, arithmeticVocab, type Gold, networkWeights, type SequenceTaskConfig, toJson } from "./SequenceGold.ts"
import { heldOutIds, heldOutParam } from "./heldOut.ts"

export const sequenceTask = Node.make({
  kind: "data/sequenceTask",
  version: 1,
  description: "Prompts and fixed-length responses over a small vocabulary with a gold reward for any response (marker counts, a random network, or arithmetic).",
  params: Schema.Struct({
    gold: Param.literal(["markers", "network", "arithmetic"], { default: "markers", description: "The gold reward: count of marker tokens, a fixed random network's score, or the fraction of a+b's digits right" }),
    prompts: Param.int({ default: 200, min: 1, description: "Number of prompts" }),
    vocab: Param.int({ default: 8, min: 2, max: 1024, description: "Vocabulary size (markers and network tasks; arithmetic uses 0–9, + and =)" }),
    promptLength: Param.int({ default: 4, min: 1, max: 256, description: "Prompt tokens (markers and network tasks; arithmetic prompts have 2·digits + 2)" }),
    responseLength: Param.int({ default: 6, min: 1, max: 256, description: "Response tokens (markers and network tasks; arithmetic answers have digits + 1)" }),
    markers: Param.int({ default: 2, min: 1, description: "Number of marker tokens, chosen at random (markers task)" }),
    hidden: Param.int({ default: 16, min: 1, description: "Width of the random gold network (network task)" }),
    digits: Param.int({ default: 2, min: 1, max: 6, description: "Digits of each operand (arithmetic task)" }),
    heldOut: heldOutParam("prompts"),
    seed: Param.seed
  }),
  inputs: {},
  output: SequenceTask,
  run: ({ params, ctx }) =>
    Effect.gen(function*() {
      if (params.gold === "markers" && params.markers >= params.vocab) {
        return yield* new InputError({ param: "markers", reason: `${params.markers} must be fewer than the vocabulary (${params.vocab})` })
      }
      const rng = ctx.random.split("sequence")
      const arithmetic = params.gold === "arithmetic"
      const vocab = arithmetic ? arithmeticVocab : Array.from({ length: params.vocab }, (_, i) => `t${i}`)
      const promptLength = arithmetic ? 2 * params.digits + 2 : params.promptLength
      const responseLength = arithmetic ? params.digits + 1 : params.responseLength
      const draw = rng.split("prompts")
      const prompts = Array.from({ length: params.prompts }, () =>
        arithmetic
          ? arithmeticPrompt(draw.int(10 ** params.digits), draw.int(10 ** params.digits), params.digits)
          : Array.from({ length: promptLength }, () => draw.int(vocab.length)))
      const gold: Gold = params.gold === "markers"
        ? { kind: "markers", markers: rng.split("markers").shuffle([...vocab.keys()]).slice(0, params.markers).sort((a, b) => a - b) }
        : params.gold === "network"
        ? { kind: "network", hidden: params.hidden }
        : { kind: "arithmetic", digits: params.digits }
      const test = [...heldOutIds(rng.split("split"), params.prompts, params.heldOut)].sort((a, b) => a - b)
      const config: SequenceTaskConfig = { vocab, promptLength, responseLength, gold, prompts, test }
      return {
        config: toJson(config),
        tensors: gold.kind === "network" ? networkWeights(rng.split("gold"), vocab.length, promptLength, responseLength, gold.hidden) : {}
      }
    })
})
