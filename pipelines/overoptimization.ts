// Reward-model overoptimisation at bandit scale (after Gao et al., 2022): reward models
// trained on few or many noisy labels, and for each the exact KL-regularised optimum
// π ∝ π_ref·exp(r̂/β) over a sweep of β. Each cell reports gold reward (95% CI), proxy
// reward and the exact KL to the uniform reference on held-out prompts. The results table
// compares every cell with 1,000 labels at β = 1.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy, reward } from "ablate/nodes"

export default Pipeline.make("overoptimization", ({ seed }) => {
  const task = data.banditTask({ prompts: 400, responses: 16, features: 8, gold: "mlp", seed }, { name: "task" })
  const reference = policy.init({ task }, { name: "reference" })
  return Pipeline.grid({ labels: [100, 1000], beta: [3, 1, 0.3, 0.1, 0.03] }, ({ labels, beta }) => {
    const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: labels, temperature: 0.5 }), task })
    const model = reward.bradleyTerry({ pairs, hidden: 16, steps: 300 }, { name: "rm" })
    const pi = policy.klOptimal({ task, reference, model, beta }, { name: "optimum" })
    const samples = data.sample({ policy: pi, task, n: 32, split: "test" }, { name: "samples" })
    return evaluate.rewardKl({ policy: pi, reference, samples, model, task }, { name: "point" })
  })
}, { baseline: { labels: 1000, beta: 1 } })
