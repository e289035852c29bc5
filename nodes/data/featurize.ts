/**
 * Text preference pairs → feature pairs: a tokenizer built from the training texts
 * (word or character vocabulary, or hashed words) and bag-of-tokens features of each
 * response, plus its log length.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, TextPreferences } from "../artifacts.ts"
import * as Tokenizer from "./Tokenizer.ts"

export const featurize = Node.make({
  kind: "data/featurize",
  version: 1,
  description: "Bag-of-tokens features (and log length) of each response, with a tokenizer built from the training texts.",
  heavy: true,
  params: Schema.Struct({
    tokenizer: Param.literal(["words", "chars", "hashed"], { default: "hashed", description: "Word or character vocabulary, or hashed words" }),
    size: Param.int({ default: 1024, min: 2, max: 65536, description: "Vocabulary size or number of hash buckets" })
  }),
  inputs: { preferences: TextPreferences },
  output: FeaturePairs,
  run: ({ params, inputs }) =>
    Effect.sync(() => {
      const train = inputs.preferences.filter((row) => row.split === "train")
      const tokenizer = Tokenizer.build(params.tokenizer, params.size, train.flatMap((row) => [row.chosen, row.rejected]))
      return inputs.preferences.map((row) => ({
        chosen: Tokenizer.bagOfTokens(tokenizer, row.chosen),
        rejected: Tokenizer.bagOfTokens(tokenizer, row.rejected),
        label: 1,
        user: "",
        source: "",
        split: row.split
      }))
    })
})
