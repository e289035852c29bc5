// The quickstart: a synthetic preference task, Bradley–Terry labels with a
// temperature, a Bradley–Terry reward model trained with TensorFlow.js, and its
// held-out pairwise accuracy against the gold preferences.
import { Pipeline } from "ablate"
import { data, evaluate, label, reward } from "ablate/nodes"

export default Pipeline.make("quickstart", ({ seed }) => {
  const task = data.preferenceTask({ items: 600, features: 8, seed }, { name: "task" })
  const pairs = label.bradleyTerry({ task, pairs: 2000, temperature: 0.3 }, { name: "labels" })
  const features = data.pairFeatures({ pairs, task }, { name: "features" })
  const rm = reward.bradleyTerry({ pairs: features, hidden: 16, steps: 300 }, { name: "rm" })
  return evaluate.pairwiseAccuracy({ model: rm, task }, { name: "accuracy" })
})
