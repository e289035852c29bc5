import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Random from "../../dsl/Random.ts"
import { data } from "../../nodes/index.ts"
import { runInMemory } from "../helpers.ts"

// the environment as a policy-optimisation node gets it, from the package's `ablate/nodes` entry
const Grid = data.GridEnvironment

describe("grid worlds", () => {
  // #######
  // #SKDG.#   start, key, door, goal in a corridor
  // #######
  const corridor = Grid.parse("#######/#SKDG.#/#######")

  it("step: walls block, the door needs the key, the goal pays 1 and ends the episode", () => {
    const start = Grid.initial(corridor)
    expect(Grid.step(corridor, start, 0)).toEqual({ state: start, reward: 0 }) // up: wall
    const withKey = Grid.step(corridor, start, 1).state
    expect(withKey).toEqual({ position: 9, hasKey: true, done: false })
    const atDoor = Grid.step(corridor, withKey, 1).state
    expect(atDoor.position).toBe(10)
    expect(Grid.step(corridor, atDoor, 1)).toEqual({ state: { position: 11, hasKey: true, done: true }, reward: 1 })
    const noKey = Grid.parse("#######/#S.DG.#/#######")
    const beforeDoor = Grid.step(noKey, Grid.initial(noKey), 1).state
    expect(Grid.step(noKey, beforeDoor, 1).state).toEqual(beforeDoor) // the closed door blocks
  })

  it("shortest paths pick up the key first, and do not exist without it", () => {
    expect(Grid.shortestPath(corridor, Grid.initial(corridor))).toEqual([1, 1, 1])
    const noKey = Grid.parse("#######/#S.DG.#/#######")
    expect(Grid.shortestPath(noKey, Grid.initial(noKey))).toBeUndefined()
    expect(Grid.format(corridor)).toBe("#######/#SKDG.#/#######")
    expect(() => Grid.parse("##/#")).toThrow("equal lengths")
  })

  it("generated layouts are solvable, and with a key and door the key is needed", () => {
    const rng = Random.make("grids")
    for (let i = 0; i < 20; i++) {
      const grid = Grid.generate(rng, { size: 7, walls: 0.15, keyAndDoor: true })
      expect(Grid.shortestPath(grid, Grid.initial(grid))).toBeDefined()
      const keyless = { ...grid, cells: grid.cells.map((c) => (c === "K" ? "." : c)) }
      expect(Grid.shortestPath(keyless, Grid.initial(keyless))).toBeUndefined()
    }
  })

  it("demonstrations: optimal ones reach the goal by a shortest path, random ones wander, mixed ones lie between", async () => {
    const { values } = await runInMemory(Pipeline.make("grids", () => [
      data.gridWorld({ envs: 10, keyAndDoor: true, demonstrations: 2, optimality: 1 }, { name: "expert" }),
      data.gridWorld({ envs: 10, keyAndDoor: true, demonstrations: 2, optimality: 0, maxSteps: 400 }, { name: "random" }),
      data.gridWorld({ envs: 10, keyAndDoor: true, demonstrations: 2, optimality: 0.7, maxSteps: 400 }, { name: "mixed" })
    ]))
    type Row = { env: number; layout: string; episode: number; step: number; position: number; hasKey: boolean; action: number; reward: number; done: boolean }
    const episodes = (rows: ReadonlyArray<Row>) => {
      const byEpisode = new Map<string, Array<Row>>()
      for (const row of rows) byEpisode.set(`${row.env}/${row.episode}`, [...(byEpisode.get(`${row.env}/${row.episode}`) ?? []), row])
      return [...byEpisode.values()]
    }
    const expert = episodes(values["expert"] as ReadonlyArray<Row>)
    expect(expert).toHaveLength(20)
    for (const episode of expert) {
      const grid = Grid.parse(episode[0]!.layout)
      expect(episode.length).toBe(Grid.shortestPath(grid, Grid.initial(grid))!.length)
      expect(episode.at(-1)).toMatchObject({ reward: 1, done: true })
    }
    const mean = (eps: ReadonlyArray<ReadonlyArray<Row>>) => eps.reduce((s, e) => s + e.length, 0) / eps.length
    const random = mean(episodes(values["random"] as ReadonlyArray<Row>))
    expect(random).toBeGreaterThan(2 * mean(expert))
    const mixed = episodes(values["mixed"] as ReadonlyArray<Row>)
    expect(mean(mixed)).toBeGreaterThan(mean(expert))
    expect(mean(mixed)).toBeLessThan(random)
    // every step either follows a shortest path or is a uniform draw: at optimality 0.7 at
    // least 0.7 + 0.3/4 of the steps are optimal, at most 0.7 + 0.3 (~ 0.8 expected)
    const optimal = mixed.flat().filter((row) => {
      const grid = Grid.parse(row.layout)
      const state = { position: row.position, hasKey: row.hasKey, done: false }
      const best = Grid.shortestPath(grid, state)!.length
      const after = Grid.step(grid, state, row.action as (typeof Grid.actions)[number]).state
      return Grid.shortestPath(grid, after)!.length === best - 1
    }).length / mixed.flat().length
    expect(optimal).toBeGreaterThan(0.7)
    expect(optimal).toBeLessThan(0.95)
  })
})

describe("bandit tasks", () => {
  // least-squares residual of gold ~ w·features (normal equations, Gaussian elimination)
  const linearResidual = (rows: ReadonlyArray<{ features: ReadonlyArray<number>; gold: number }>): number => {
    const d = rows[0]!.features.length
    const a = Array.from({ length: d }, (_, i) => [
      ...Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r.features[i]! * r.features[j]!, 0)),
      rows.reduce((s, r) => s + r.features[i]! * r.gold, 0)
    ])
    for (let c = 0; c < d; c++) {
      for (let r = c + 1; r < d; r++) {
        const f = a[r]![c]! / a[c]![c]!
        for (let k = c; k <= d; k++) a[r]![k]! -= f * a[c]![k]!
      }
    }
    const w = new Array<number>(d).fill(0)
    for (let c = d - 1; c >= 0; c--) w[c] = (a[c]![d]! - a[c]!.slice(c + 1, d).reduce((s, x, k) => s + x * w[c + 1 + k]!, 0)) / a[c]![c]!
    const residual = rows.reduce((s, r) => s + (r.gold - r.features.reduce((t, x, i) => t + x * w[i]!, 0)) ** 2, 0)
    return residual / rows.reduce((s, r) => s + r.gold ** 2, 0)
  }

  it("prompts × K responses, held out by prompt, with a linear or a random-MLP gold reward", async () => {
    const { values } = await runInMemory(Pipeline.make("bandits", () => [
      data.banditTask({ prompts: 40, responses: 5, features: 4 }, { name: "linear" }),
      data.banditTask({ prompts: 40, responses: 5, features: 4, gold: "mlp" }, { name: "mlp" })
    ]))
    type Item = { item: number; prompt: number; features: ReadonlyArray<number>; gold: number; split: string }
    const linear = values["linear"] as ReadonlyArray<Item>
    expect(linear).toHaveLength(200)
    for (let p = 0; p < 40; p++) {
      const items = linear.filter((i) => i.prompt === p)
      expect(items).toHaveLength(5)
      expect(new Set(items.map((i) => i.split)).size).toBe(1)
    }
    expect(linear.filter((i) => i.split === "test")).toHaveLength(50) // a quarter of the prompts
    expect(linearResidual(linear)).toBeLessThan(1e-12)
    // through tanh hidden units the gold is no linear function of the features (4% of its
    // square left unexplained by the best linear fit, against 1e-12 and less for the linear gold)
    expect(linearResidual(values["mlp"] as ReadonlyArray<Item>)).toBeGreaterThan(0.01)
  })
})
