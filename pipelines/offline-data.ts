// Offline demonstrations to speed up RL in procedurally generated environments (after Andres et
// al., 2023, arXiv 2304.09825): PPO from scratch vs PPO after behaviour-cloning pretraining on 2,
// 10 or 100 demonstrations, each in a level of its own, by an optimal demonstrator or a noisy one
// (half of its steps uniformly random), in sparse-reward key-and-door grid worlds. PPO trains on
// 500 generated levels; every policy is scored, before PPO (`start`) and after it (`final`), on
// 100 levels generated from another seed. The results table compares each cell with PPO from
// scratch; the report's `ppo` curves are the sample efficiency. See docs/reproductions/offline-data.md.
import { Pipeline } from "ablate"
import { data, evaluate, policy } from "ablate/nodes"

export default Pipeline.make("offline-data", ({ seed }) => {
  const world = { size: 8, walls: 0.15, keyAndDoor: true, maxSteps: 40 } as const
  const levels = data.gridWorld({ ...world, envs: 500, demonstrations: 1, seed }, { name: "levels" })
  const heldOut = data.gridWorld({ ...world, envs: 100, demonstrations: 1, seed: 1000 + seed }, { name: "heldOut" })
  // a 7×7 egocentric view, as MiniGrid's agents have
  const view = { radius: 3 } as const
  const scored = (start: ReturnType<typeof policy.gridInit>) => {
    const tuned = policy.ppoGrid({ policy: start, environments: levels, maxSteps: world.maxSteps }, { name: "ppo" })
    const score = { environments: heldOut, maxSteps: world.maxSteps, actions: "sampled", episodes: 4 } as const
    return [evaluate.episodes({ policy: start, ...score }, { name: "start" }), evaluate.episodes({ policy: tuned, ...score }, { name: "final" })]
  }
  return Pipeline.grid({ demos: [0, 2, 10, 100] }, ({ demos }) =>
    demos === 0
      ? scored(policy.gridInit({ environments: levels, ...view }, { name: "fresh" }))
      : Pipeline.sweep({ quality: ["optimal", "noisy"] }, ({ quality }) => {
        const demonstrations = data.gridWorld(
          { ...world, envs: demos, demonstrations: 1, optimality: quality === "optimal" ? 1 : 0.5, seed: 2000 + seed },
          { name: "demonstrations" }
        )
        return scored(policy.imitationPretrain({ demonstrations, ...view }, { name: "cloned" }))
      }))
}, { baseline: { demos: 0 } })
