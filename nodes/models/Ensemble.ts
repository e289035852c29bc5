/**
 * An ensemble of models stored as one model artifact: member i's tensors under
 * `m{i}.<name>`, its config in `members[i]`.
 */
import type { ModelValue } from "../../dsl/Artifact.ts"
import { prefixed, unprefixed } from "./Tensors.ts"

/** The prefix of member i's tensor (and training variable) names. */
export const prefix = (i: number): string => `m${i}.`

export const toModel = (members: ReadonlyArray<ModelValue>): ModelValue => ({
  config: { architecture: "ensemble", members: members.map((m) => m.config) },
  tensors: Object.fromEntries(members.flatMap((m, i) => Object.entries(prefixed(prefix(i), m.tensors))))
})

export const isEnsemble = (model: ModelValue): boolean => model.config["architecture"] === "ensemble"

export const members = (model: ModelValue): Array<ModelValue> =>
  (model.config["members"] as ReadonlyArray<ModelValue["config"]>).map((config, i) => ({
    config,
    tensors: unprefixed(prefix(i), model.tensors)
  }))
