// A Bradley–Terry reward model on the HH-RLHF harmless sample (1,500 pairs, data/):
// a seeded 75/25 split, bag-of-words features of each response (with its log length),
// a one-hidden-layer reward model, and its held-out pairwise accuracy and calibration
// next to the "shorter response wins" baseline. The dataset path is the load node's
// `path` param: `--set load.path=other.jsonl`.
import { Pipeline } from "ablate"
import { data, evaluate, reward } from "ablate/nodes"

export default Pipeline.make("hh-reward-model", ({ seed }) => {
  const preferences = data.loadPreferences({ path: "data/hh-harmless-1500.jsonl.gz", heldOut: 0.25, seed }, { name: "load" })
  const features = data.featurize({ preferences, tokenizer: "words", size: 2048 }, { name: "features" })
  const rm = reward.bradleyTerry({ pairs: features, hidden: 0, steps: 300, lr: 0.01, weightDecay: 0.1, seed }, { name: "rm" })
  return {
    rm: evaluate.rmAccuracy({ model: rm, pairs: features }, { name: "accuracy" }),
    baseline: evaluate.lengthBaseline({ preferences }, { name: "lengthBaseline" })
  }
})
