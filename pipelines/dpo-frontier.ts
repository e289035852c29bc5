// The reward–KL frontier of DPO against PPO's (after Rafailov et al., 2023, "Direct Preference
// Optimization", arXiv 2305.18290, Figure 2 left) on a sequence task with a known gold reward.
// SFT makes the reference; pairs of its samples to the training prompts are labelled by the gold
// reward; DPO learns from the pairs over a sweep of β, PPO maximises a reward model trained on the
// same pairs ("ppo") or the gold reward itself ("ppoGold") over a sweep of its KL coefficient β.
// Every policy reports the gold reward (95% CI), the reward model's score and the exact KL to the
// reference on held-out prompts. See docs/reproductions/dpo-frontier.md.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy, reward } from "ablate/nodes"

// β of each method's runs: the KL coefficient of E[r] − β·KL(π ‖ π_ref), on the scale of its reward
const runs = {
  dpo: [10, 3, 1, 0.3, 0.1],
  ppo: [10, 3, 1, 0.3],
  ppoGold: [1, 0.3, 0.1, 0.03]
} as const

export default Pipeline.make("dpo-frontier", ({ seed }) => {
  const task = data.sequenceTask({ gold: "network", vocab: 8, promptLength: 4, responseLength: 4, prompts: 200, seed }, { name: "task" })
  const base = policy.init({ task }, { name: "base" })
  // the reference: SFT on the best of 4 base samples per training prompt
  const baseSamples = data.sample({ policy: base, task, n: 4, split: "train" }, { name: "baseSamples" })
  const demonstrations = label.responsePairs({ samples: baseSamples, task, judge: task, pairing: "bestWorst" }, { name: "demonstrations" })
  const sft = policy.sft({ policy: base, data: demonstrations, task, steps: 150 }, { name: "sft" })
  // the preference data: every pair of 4 SFT samples per training prompt, labelled by the gold reward
  const samples = data.sample({ policy: sft, task, n: 4, split: "train" }, { name: "sftSamples" })
  const pairs = label.responsePairs({ samples, task, judge: task, pairing: "all" }, { name: "pairs" })
  const rm = reward.bradleyTerry({ pairs: data.responseFeatures({ pairs, task }), hidden: 16, steps: 300 }, { name: "rm" })
  const reference = evaluate.rewardKl({ policy: sft, reference: sft, samples: data.sample({ policy: sft, task, n: 8, split: "test" }, { name: "sftTest" }), model: rm, task }, { name: "reference" })
  const methods = (["dpo", "ppo", "ppoGold"] as const).flatMap((method) => runs[method].map(() => method))
  const frontier = Pipeline.sweep({ method: methods, beta: Object.values(runs).flat() }, ({ method, beta }) => {
    const optimized = method === "dpo"
      ? policy.dpo({ policy: sft, reference: sft, pairs, task, beta, steps: 200 }, { name: "dpoPolicy" })
      : policy.ppo({ policy: sft, reference: sft, reward: method === "ppo" ? rm : task, task, klCoef: beta, steps: 200 }, { name: method === "ppo" ? "ppoPolicy" : "ppoGoldPolicy" })
    const test = data.sample({ policy: optimized, task, n: 8, split: "test" }, { name: "testSamples" })
    return evaluate.rewardKl({ policy: optimized, reference: sft, samples: test, model: rm, task }, { name: "frontier" })
  })
  return [reference, frontier]
})
