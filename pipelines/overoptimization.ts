// Reward-model overoptimisation at bandit scale (after Gao et al., 2022, arXiv 2210.10760): reward
// models trained on 30, 100 or 1,000 noisy labels of a task whose few atypical responses the gold
// reward penalises, and three ways of optimising each: the exact KL-regularised optimum
// π ∝ π_ref·exp(r̂/β) over a sweep of β, exact best-of-n over a sweep of n, and PPO over a sweep of
// its KL coefficient β. Every point reports gold reward (95% CI), proxy reward and the exact KL to
// the uniform reference. The results table compares each cell with the 1,000-label cell at the same
// β or n. See docs/reproductions/overoptimization.md.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy, reward } from "ablate/nodes"

export default Pipeline.make("overoptimization", ({ seed }) => {
  const task = data.heavyTailedBandit(
    { prompts: 100, responses: 512, features: 8, gold: "mlp", tails: 3, atypicality: 0.5, heldOut: 0, seed },
    { name: "task" }
  )
  const reference = policy.init({ task }, { name: "reference" })
  return Pipeline.grid({ labels: [30, 100, 1000] }, ({ labels }) => {
    const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: labels, temperature: 0.5 }), task })
    const model = reward.bradleyTerry({ pairs, hidden: 16, steps: 300 }, { name: "rm" })
    const point = (optimized: ReturnType<typeof policy.init>, name: string) =>
      evaluate.rewardKl({ policy: optimized, reference, samples: data.sample({ policy: optimized, task, n: 32 }, { name: `${name}Samples` }), model, task }, { name })
    return [
      Pipeline.sweep({ beta: [10, 3, 1, 0.3, 0.1] }, ({ beta }) =>
        point(policy.klOptimal({ task, reference, model, beta }, { name: "optimumPolicy" }), "optimum")),
      Pipeline.sweep({ bestOf: [2, 4, 16, 64, 256, 1024] }, ({ bestOf }) =>
        point(policy.bestOfNExact({ policy: reference, reward: model, task, n: bestOf }, { name: "bestOfNPolicy" }), "bestOfN")),
      Pipeline.sweep({ beta: [3, 1, 0.3] }, ({ beta }) =>
        point(policy.ppo({ policy: reference, reference, reward: model, task, klCoef: beta, prompts: 64, steps: 600, lr: 0.1 }, { name: "ppoPolicy" }), "ppo"))
    ]
  })
}, { baseline: { labels: 1000 } })
