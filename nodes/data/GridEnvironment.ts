/**
 * Sparse-reward grid worlds: reach the goal (reward 1, episode ends), optionally
 * through a door that opens only after picking up the key. Layouts are generated
 * from a seeded generator and always solvable; `shortestPath` gives optimal actions
 * (breadth-first search over position × key state), so demonstrations of any
 * optimality can be drawn.
 *
 * A layout is a string of rows joined by "/": "#" wall, "." floor, "S" start,
 * "G" goal, "K" key, "D" door.
 */
import { ArgumentError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"

export type Action = 0 | 1 | 2 | 3
/** up, right, down, left */
export const actions: ReadonlyArray<Action> = [0, 1, 2, 3]
const moves: ReadonlyArray<readonly [number, number]> = [[0, -1], [1, 0], [0, 1], [-1, 0]]

export interface Grid {
  readonly width: number
  readonly height: number
  readonly cells: ReadonlyArray<string>
  readonly start: number
}

export interface State {
  readonly position: number
  readonly hasKey: boolean
  readonly done: boolean
}

export const parse = (layout: string): Grid => {
  const rows = layout.split("/")
  const width = rows[0]?.length ?? 0
  if (rows.length === 0 || rows.some((r) => r.length !== width)) {
    throw new ArgumentError({ function: "GridEnvironment.parse", argument: "layout", reason: `rows must have equal lengths: ${layout}` })
  }
  const cells = rows.flatMap((r) => Array.from(r))
  const start = cells.indexOf("S")
  if (start < 0 || !cells.includes("G")) throw new ArgumentError({ function: "GridEnvironment.parse", argument: "layout", reason: `needs a start S and a goal G: ${layout}` })
  return { width, height: rows.length, cells, start }
}

export const format = (grid: Grid): string =>
  Array.from({ length: grid.height }, (_, y) => grid.cells.slice(y * grid.width, (y + 1) * grid.width).join("")).join("/")

export const initial = (grid: Grid): State => ({ position: grid.start, hasKey: false, done: false })

/** One environment step: walls and closed doors block; the key is picked up by stepping on it; the goal pays 1 and ends the episode. */
export const step = (grid: Grid, state: State, action: Action): { readonly state: State; readonly reward: number } => {
  if (state.done) return { state, reward: 0 }
  const [dx, dy] = moves[action]!
  const x = (state.position % grid.width) + dx
  const y = Math.floor(state.position / grid.width) + dy
  const target = y * grid.width + x
  const cell = x < 0 || y < 0 || x >= grid.width || y >= grid.height ? "#" : grid.cells[target]!
  if (cell === "#" || (cell === "D" && !state.hasKey)) return { state, reward: 0 }
  const next = { position: target, hasKey: state.hasKey || cell === "K", done: cell === "G" }
  return { state: next, reward: next.done ? 1 : 0 }
}

/** Optimal actions from `state` to the goal (breadth-first search), or undefined when the goal is unreachable. */
export const shortestPath = (grid: Grid, from: State): Array<Action> | undefined => {
  const key = (s: State) => s.position * 2 + (s.hasKey ? 1 : 0)
  const previous = new Map<number, { readonly state: State; readonly action: Action; readonly from: number }>()
  const queue: Array<State> = [from]
  const seen = new Set([key(from)])
  while (queue.length > 0) {
    const state = queue.shift()!
    if (state.done) {
      const path: Array<Action> = []
      for (let k = key(state); previous.has(k); k = previous.get(k)!.from) path.unshift(previous.get(k)!.action)
      return path
    }
    for (const action of actions) {
      const next = step(grid, state, action).state
      if (seen.has(key(next))) continue
      seen.add(key(next))
      previous.set(key(next), { state: next, action, from: key(state) })
      queue.push(next)
    }
  }
  return undefined
}

/**
 * A random solvable layout: border walls, interior walls with the given density, a
 * start and a goal. With a key and door, a wall column splits the grid with the door
 * as its only gap; start and key lie on one side, the goal on the other, so the key
 * is needed.
 */
export const generate = (rng: Random, options: { readonly size: number; readonly walls: number; readonly keyAndDoor: boolean }): Grid => {
  const { size } = options
  if (size < (options.keyAndDoor ? 5 : 3)) {
    throw new ArgumentError({
      function: "GridEnvironment.generate",
      argument: "size",
      reason: `${size} is too small${options.keyAndDoor ? " for a key and a door (min 5)" : " (min 3)"}`
    })
  }
  for (let attempt = 0; attempt < 1000; attempt++) {
    const cells: Array<string> = Array.from({ length: size * size }, (_, i) => {
      const x = i % size
      const y = Math.floor(i / size)
      return x === 0 || y === 0 || x === size - 1 || y === size - 1 || rng.uniform() < options.walls ? "#" : "."
    })
    const column = options.keyAndDoor ? 2 + rng.int(size - 4) : -1
    if (options.keyAndDoor) {
      for (let y = 1; y < size - 1; y++) cells[y * size + column] = "#"
      cells[(1 + rng.int(size - 2)) * size + column] = "D"
    }
    const floor = (side: (x: number) => boolean) => rng.shuffle(cells.flatMap((c, i) => (c === "." && side(i % size) ? [i] : [])))
    const left = floor((x) => !options.keyAndDoor || x < column)
    const right = options.keyAndDoor ? floor((x) => x > column) : left.slice(1)
    if (left.length < (options.keyAndDoor ? 2 : 1) || right.length < 1) continue
    cells[left[0]!] = "S"
    cells[right[0]!] = "G"
    if (options.keyAndDoor) cells[left[1]!] = "K"
    const grid: Grid = { width: size, height: size, cells, start: left[0]! }
    if (shortestPath(grid, initial(grid)) !== undefined) return grid
  }
  throw new ArgumentError({
    function: "GridEnvironment.generate",
    argument: "walls",
    reason: `(density ${options.walls}) left no solvable ${size}×${size} grid in 1000 attempts`
  })
}
