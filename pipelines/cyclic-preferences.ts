// General Preference Model vs Bradley–Terry (Zhang et al., 2024, arXiv:2410.02197) on
// intransitive preferences (rock–paper–scissors between three classes of items) and on
// transitive ones (the items' gold reward), with reward models of the same size. The
// results table compares each model with Bradley–Terry on the same preferences.
import { Pipeline } from "ablate"
import { data, evaluate, label, reward } from "ablate/nodes"

export default Pipeline.make("cyclic-preferences", ({ seed }) => {
  const task = data.preferenceTask({ items: 600, features: 3, seed }, { name: "task" })
  const oracles = {
    cyclic: () => label.cyclic({ task, pairs: 2000, testPairs: 600 }, { name: "labels" }),
    transitive: () => label.bradleyTerry({ task, pairs: 2000, testPairs: 600, temperature: 0 }, { name: "labels" })
  }
  return Pipeline.grid({ preferences: ["cyclic", "transitive"], model: ["bt", "gpm"] }, ({ preferences, model }) => {
    const pairs = data.pairFeatures({ pairs: oracles[preferences](), task }, { name: "pairs" })
    const rm = model === "gpm"
      ? reward.generalPreference({ pairs, dims: 4, hidden: 32, steps: 400 }, { name: "rm" })
      : reward.bradleyTerry({ pairs, hidden: 32, steps: 400 }, { name: "rm" })
    return evaluate.rmAccuracy({ model: rm, pairs }, { name: "accuracy" })
  })
}, { baseline: { model: "bt" } })
