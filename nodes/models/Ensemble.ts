/**
 * An ensemble of models stored as one model artifact: member i's tensors under
 * `m{i}.<name>`, its config in `members[i]`.
 */
import type { ModelValue } from "../../dsl/Artifact.ts"

export const toModel = (members: ReadonlyArray<ModelValue>): ModelValue => ({
  config: { architecture: "ensemble", members: members.map((m) => m.config) },
  tensors: Object.fromEntries(members.flatMap((m, i) => Object.entries(m.tensors).map(([name, t]) => [`m${i}.${name}`, t])))
})

export const isEnsemble = (model: ModelValue): boolean => model.config["architecture"] === "ensemble"

export const members = (model: ModelValue): Array<ModelValue> =>
  (model.config["members"] as ReadonlyArray<ModelValue["config"]>).map((config, i) => ({
    config,
    tensors: Object.fromEntries(
      Object.entries(model.tensors).filter(([name]) => name.startsWith(`m${i}.`)).map(([name, t]) => [name.slice(`m${i}.`.length), t])
    )
  }))
