// Intransitive preferences: rock–paper–scissors between three classes of items.
// A General Preference Model (skew-symmetric scores of embeddings) against a
// Bradley–Terry reward model of the same size, on held-out pairs.
import { Pipeline } from "ablate"
import { data, evaluate, label, reward } from "ablate/nodes"

export default Pipeline.make("cyclic-preferences", ({ seed }) => {
  const task = data.preferenceTask({ items: 600, features: 3, seed }, { name: "task" })
  const pairs = data.pairFeatures({ pairs: label.cyclic({ task, pairs: 2000, testPairs: 600 }), task }, { name: "pairs" })
  return {
    gpm: evaluate.rmAccuracy({ model: reward.generalPreference({ pairs, dims: 4, hidden: 32 }, { name: "gpm" }), pairs }, { name: "gpmAccuracy" }),
    bt: evaluate.rmAccuracy({ model: reward.bradleyTerry({ pairs, hidden: 32, steps: 400 }, { name: "bt" }), pairs }, { name: "btAccuracy" })
  }
})
