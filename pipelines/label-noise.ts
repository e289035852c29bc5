// Label noise and preference strength (Wang et al., 2024, "Secrets of RLHF in Large Language
// Models Part II: Reward Modeling", arXiv:2401.06080): preference labels with a rate of
// flipped labels; an ensemble of reward models gives each training pair its preference
// strength (mean margin across members), which should find the flipped pairs; then a reward
// model trained on the noisy pairs as they are, with the pairs of negative strength dropped
// or flipped, or with an adaptive margin, is scored against the gold reward on held-out items.
// The results table compares each method with the plain model at the same noise rate.
import { Pipeline } from "ablate"
import { data, evaluate, label, reward } from "ablate/nodes"

export default Pipeline.make("label-noise", ({ seed }) => {
  const task = data.preferenceTask({ items: 1000, features: 8, seed }, { name: "task" })
  return Pipeline.grid({ noise: [0, 0.1, 0.2, 0.3, 0.4] }, ({ noise }) => {
    const labels = label.bradleyTerry({ task, pairs: 2000, temperature: 0, noise }, { name: "labels" })
    const pairs = data.pairFeatures({ pairs: labels, task }, { name: "pairs" })
    const ensemble = reward.ensemble({ pairs, members: 5, hidden: 16 }, { name: "ensemble" })
    const strengths = evaluate.preferenceStrength({ model: ensemble, pairs }, { name: "strengths" })
    const models = {
      none: () => reward.bradleyTerry({ pairs, hidden: 16 }, { name: "rm" }),
      drop: () => reward.bradleyTerry({ pairs: label.relabel({ pairs, strengths, method: "drop" }, { name: "relabelled" }), hidden: 16 }, { name: "rm" }),
      flip: () => reward.bradleyTerry({ pairs: label.relabel({ pairs, strengths, method: "flip" }, { name: "relabelled" }), hidden: 16 }, { name: "rm" }),
      margin: () => reward.adaptiveMargin({ pairs, strengths, hidden: 16 }, { name: "rm" }),
      ensemble: () => ensemble
    }
    return [
      // without noise there are no flipped pairs to find
      noise > 0 ? [evaluate.noiseDetection({ strengths, labels }, { name: "detection" })] : [],
      Pipeline.sweep({ method: ["none", "drop", "flip", "margin", "ensemble"] }, ({ method }) =>
        evaluate.pairwiseAccuracy({ model: models[method](), task }, { name: "accuracy" }))
    ]
  })
}, { baseline: { method: "none" } })
