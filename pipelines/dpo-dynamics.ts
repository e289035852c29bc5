// The log-probability dynamics of DPO after Yan et al., 2024, "3D-Properties: Identifying
// Challenges in DPO and Charting a Path Forward" (arXiv 2406.07327): how DPO moves the
// likelihood of the chosen, the rejected and of unseen responses, with off-policy pairs
// (responses of another policy: the untrained initial one) against on-policy pairs (the
// SFT reference's own samples), each with and without an SFT term on the chosen responses
// (RPO's sftWeight). Responses are 2 tokens over 8, so each prompt has 64 and a prompt's
// pairs cover a real share of the reference's probability. Every pair is labelled by the
// task's gold reward; each DPO run tracks Δ log-probability from the reference every 5
// steps, and each policy's gold reward is measured on held-out prompts.
// See docs/reproductions/dpo-dynamics.md.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy } from "ablate/nodes"

export default Pipeline.make("dpo-dynamics", ({ seed }) => {
  const task = data.sequenceTask({ gold: "network", vocab: 8, promptLength: 4, responseLength: 2, prompts: 200, seed }, { name: "task" })
  const base = policy.init({ task }, { name: "base" })
  const judged = (samples: ReturnType<typeof data.sample>, name: string) => label.responsePairs({ samples, task, judge: task, pairing: "bestWorst" }, { name })
  // the reference: SFT of the base policy on the best of 4 of its samples per prompt
  const demonstrations = judged(data.sample({ policy: base, task, n: 4, split: "train" }, { name: "baseSamples" }), "demonstrations")
  const reference = policy.sft({ policy: base, data: demonstrations, task, steps: 300 }, { name: "reference" })
  const pairsFrom = {
    // another draw from the base policy than the one SFT learnt from
    offPolicy: judged(data.sample({ policy: base, task, n: 4, split: "train", seed: 1000 + seed }, { name: "offPolicySamples" }), "offPolicyPairs"),
    onPolicy: judged(data.sample({ policy: reference, task, n: 4, split: "train" }, { name: "onPolicySamples" }), "onPolicyPairs")
  }
  const score = (pi: typeof reference, name: string) =>
    evaluate.goldReward({ samples: data.sample({ policy: pi, task, n: 8, split: "test" }, { name: `${name}Samples` }), task }, { name })
  return [
    score(reference, "referenceGold"),
    Pipeline.grid({ pairs: ["offPolicy", "onPolicy"] as const, sft: [0, 1] }, ({ pairs, sft }) => {
      const dpo = policy.dpo({ policy: reference, reference, pairs: pairsFrom[pairs], task, sftWeight: sft, trackEvery: 5, unseen: 4 }, { name: "dpo" })
      return [dpo, score(dpo, "gold")]
    })
  ]
}, { baseline: { sft: 0 } })
