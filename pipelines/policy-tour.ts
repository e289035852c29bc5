// The policy side in one pipeline: SFT, then DPO and PPO against a learned reward model, on
// a sequence task whose gold reward (the number of marker tokens in a response) is known for
// every response. A Bradley–Terry reward model is trained on gold-labelled pairs of the base
// policy's samples; SFT imitates the preferred responses; DPO trains on pairs of SFT's
// samples judged by the reward model; PPO maximises the reward model's score with a KL
// penalty to SFT. Each policy reports gold reward (95% CI), proxy reward (the reward
// model's) and KL to SFT on held-out prompts.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy, reward } from "ablate/nodes"

export default Pipeline.make("policy-tour", ({ seed }) => {
  const task = data.sequenceTask({ gold: "network", vocab: 8, promptLength: 4, responseLength: 6, prompts: 200, seed }, { name: "task" })
  const base = policy.init({ task, width: 32, layers: 1 }, { name: "base" })
  const baseSamples = data.sample({ policy: base, task, n: 4, split: "train" }, { name: "baseSamples" })
  const goldPairs = label.responsePairs({ samples: baseSamples, task, judge: task, pairing: "bestWorst" }, { name: "goldPairs" })
  const rm = reward.bradleyTerry({ pairs: data.responseFeatures({ pairs: goldPairs, task }), hidden: 16, steps: 300 }, { name: "rm" })
  const sft = policy.sft({ policy: base, data: goldPairs, task, steps: 150 }, { name: "sft" })

  const sftSamples = data.sample({ policy: sft, task, n: 4, split: "train" }, { name: "sftSamples" })
  const rmPairs = label.responsePairs({ samples: sftSamples, task, judge: rm, pairing: "bestWorst" }, { name: "rmPairs" })
  const dpo = policy.dpo({ policy: sft, reference: sft, pairs: rmPairs, task, beta: 0.1, steps: 150 }, { name: "dpo" })
  const ppo = policy.ppo({ policy: sft, reference: sft, reward: rm, task, steps: 150 }, { name: "ppo" })

  const evaluated = { sft, dpo, ppo }
  return Object.entries(evaluated).map(([name, pi]) =>
    evaluate.rewardKl({
      policy: pi,
      reference: sft,
      samples: data.sample({ policy: pi, task, n: 8, split: "test" }, { name: `${name}Test` }),
      model: rm,
      task
    }, { name: `${name}Eval` })
  )
})
