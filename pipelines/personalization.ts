// Personalised reward models after Poddar et al., 2024, "Personalizing RLHF with Variational
// Preference Learning" (arXiv 2408.10075): two user types with opposed linear rewards (ρ = −1),
// mixed 50/50 or 80/20, label a bandit task; a Bradley–Terry reward model and a latent-user
// (VPL) model learn from their labels. Each is scored on held-out pairs per user type, and the
// exact KL-regularised optimum of each — the latent model conditioned on the user's type — is
// scored by each type's own reward on held-out prompts. The results table compares VPL with
// Bradley–Terry cell by cell. See docs/reproductions/personalization.md.
import { Pipeline } from "ablate"
import { data, evaluate, label, policy, reward } from "ablate/nodes"

export default Pipeline.make("personalization", ({ seed }) => {
  const task = data.banditTask({ prompts: 200, responses: 16, features: 8, gold: "linear", seed }, { name: "task" })
  const reference = policy.init({ task }, { name: "reference" })
  return Pipeline.grid({ majority: [0.5, 0.8] }, ({ majority }) => {
    const users = label.userTypes({ task, shares: [majority, 1 - majority], correlation: -1 }, { name: "users" })
    const labels = label.userPreferences({ task, users, annotators: 100, pairs: 20, testPairs: 10, temperature: 0.1 }, { name: "labels" })
    const pairs = data.pairFeatures({ pairs: labels, task }, { name: "pairs" })
    // BT: one Bradley–Terry reward for everyone; VPL: the latent-user model
    const models = {
      BT: reward.bradleyTerry({ pairs, hidden: 32, steps: 400 }, { name: "bradleyTerryModel" }),
      VPL: reward.latentUser({ pairs }, { name: "latentUserModel" })
    }
    const kinds = ["BT", "VPL"] as const
    return [
      Pipeline.sweep({ model: kinds }, ({ model }) => evaluate.rmAccuracy({ model: models[model], pairs }, { name: "accuracy" })),
      Pipeline.grid({ model: kinds, user: [0, 1] }, ({ model, user }) => {
        const type = `type${user}`
        const rm = model === "BT" ? models.BT : reward.personalize({ model: models.VPL, pairs, type }, { name: "personalized" })
        const optimum = policy.klOptimal({ task, reference, model: rm, beta: 1 }, { name: "policy" })
        const samples = data.sample({ policy: optimum, task, n: 32, split: "test" }, { name: "samples" })
        return evaluate.goldReward({ samples, task: data.userTask({ task, users, type }, { name: "userTask" }) }, { name: "reward" })
      })
    ]
  })
}, { baseline: { model: "BT" } })
