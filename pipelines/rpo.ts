// DPO against RPO, DPO plus an SFT term on the chosen responses (after Liu et al., 2024,
// "Provably Mitigating Overoptimization in RLHF: Your SFT Loss is Implicitly an Adversarial
// Regularizer", arXiv 2405.16436), when the preference pairs cover few responses per prompt.
// SFT makes the reference; every pair of `responses` SFT samples per training prompt is labelled
// by the gold reward, a fraction `noise` of the labels flipped; DPO (sftWeight 0) and RPO
// (sftWeight α > 0: the loss adds α times the chosen responses' per-token NLL) learn from them.
// Each policy reports the gold reward of its samples (95% CI) on the training and the held-out
// prompts, its exact KL to the reference on the held-out prompts, and how its likelihood of the
// pairs' chosen and rejected responses, and its mass on the responses the pairs cover, moved from
// the reference's. The results table compares RPO with DPO cell by cell. See
// docs/reproductions/rpo.md.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy } from "ablate/nodes"

export default Pipeline.make("rpo", ({ seed }) => {
  const task = data.sequenceTask({ gold: "network", vocab: 8, promptLength: 4, responseLength: 4, prompts: 200, seed }, { name: "task" })
  const base = policy.init({ task }, { name: "base" })
  // the reference: SFT on the best of 4 base samples per training prompt
  const baseSamples = data.sample({ policy: base, task, n: 4, split: "train" }, { name: "baseSamples" })
  const demonstrations = label.responsePairs({ samples: baseSamples, task, judge: task, pairing: "bestWorst" }, { name: "demonstrations" })
  const sft = policy.sft({ policy: base, data: demonstrations, task, steps: 150 }, { name: "sft" })
  const reference = evaluate.goldReward({ samples: data.sample({ policy: sft, task, n: 8 }, { name: "sftSamples" }), task }, { name: "reference" })
  const cells = Pipeline.grid({ sftWeight: [0, 1], responses: [2, 8], noise: [0, 0.4] }, ({ sftWeight, responses, noise }) => {
    // the preference data: every pair of `responses` SFT samples per training prompt, labelled by the gold reward
    const samples = data.sample({ policy: sft, task, n: responses, split: "train" }, { name: "behaviour" })
    const pairs = label.responsePairs({ samples, task, judge: task, pairing: "all", noise }, { name: "pairs" })
    const optimized = policy.dpo({ policy: sft, reference: sft, pairs, task, beta: 0.1, sftWeight, steps: 300 }, { name: "policy" })
    return [
      evaluate.goldReward({ samples: data.sample({ policy: optimized, task, n: 8 }, { name: "samples" }), task }, { name: "gold" }),
      evaluate.kl({ policy: optimized, reference: sft, samples: data.sample({ policy: optimized, task, n: 8, split: "test" }, { name: "testSamples" }), task }, { name: "kl" }),
      evaluate.pairLikelihood({ policy: optimized, reference: sft, pairs, task }, { name: "likelihood" })
    ]
  })
  return [reference, cells]
}, { baseline: { sftWeight: 0 } })
