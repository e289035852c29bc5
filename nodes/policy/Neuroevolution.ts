/**
 * The genetic algorithm of Deep Neuroevolution (Such et al., 2017, "Deep Neuroevolution:
 * Genetic Algorithms Are a Competitive Alternative for Training Deep Neural Networks for
 * Reinforcement Learning", https://arxiv.org/abs/1712.06567, Algorithm 1), on genomes that
 * are a model's weights flattened into one vector:
 *
 *   mutation     θ' = θ_k + σ·ε,  ε ~ N(0, I),  parent k uniform among the T parents
 *   truncation   the T fittest of a generation become the next one's parents
 *   elitism      the fittest is carried into the next generation unmutated
 */
import * as tf from "@tensorflow/tfjs-core"
import { ArgumentError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"
import { assignFrom } from "../models/Tensors.ts"

/** Where each variable of a model lies in its genome: names in sorted order, each a contiguous row-major slice. */
export type Layout = ReadonlyArray<{ readonly name: string; readonly shape: ReadonlyArray<number>; readonly offset: number; readonly size: number }>

/** The layout of a model's variables (every one of them, trainable or not, in sorted name order). */
export const layoutOf = (variables: Readonly<Record<string, tf.Variable>>): Layout => {
  let offset = 0
  return Object.keys(variables).sort().map((name) => {
    const shape = variables[name]!.shape
    const size = shape.reduce((a, b) => a * b, 1)
    const entry = { name, shape, offset, size }
    offset += size
    return entry
  })
}

/** The number of weights of a genome with this layout. */
export const genomeSize = (layout: Layout): number => layout.reduce((n, entry) => n + entry.size, 0)

/** The variables' current values as one genome. */
export const flatten = (variables: Readonly<Record<string, tf.Variable>>, layout: Layout): Float32Array => {
  const genome = new Float32Array(genomeSize(layout))
  for (const { name, offset } of layout) genome.set(variables[name]!.dataSync() as Float32Array, offset)
  return genome
}

/** Overwrite the variables with a genome's weights. */
export const assign = (variables: Readonly<Record<string, tf.Variable>>, layout: Layout, genome: Float32Array): void => {
  for (const { name, shape, offset, size } of layout) assignFrom(variables[name]!, { shape, data: genome.subarray(offset, offset + size) })
}

/** The slice of a genome holding the variable `name`. */
export const part = (genome: Float32Array, layout: Layout, name: string): Float32Array => {
  const entry = layout.find((e) => e.name === name)
  if (entry === undefined) {
    throw new ArgumentError({ function: "Neuroevolution.part", argument: "name", reason: `"${name}" is not a variable of the genome (it has ${layout.map((e) => e.name).join(", ")})` })
  }
  return genome.subarray(entry.offset, entry.offset + entry.size)
}

/** θ + σ·ε with ε ~ N(0, I) drawn from `rng`, one weight after another. */
export const mutate = (parent: Float32Array, sigma: number, rng: Random): Float32Array => {
  const child = new Float32Array(parent.length)
  for (let i = 0; i < parent.length; i++) child[i] = parent[i]! + sigma * rng.normal()
  return child
}

/**
 * The next generation of `size` genomes: the elite (`parents[0]`, unmutated) first, then
 * size − 1 children, each a mutation of a parent drawn uniformly.
 */
export const nextGeneration = (parents: ReadonlyArray<Float32Array>, size: number, sigma: number, rng: Random): Array<Float32Array> => {
  if (parents.length === 0) throw new ArgumentError({ function: "Neuroevolution.nextGeneration", argument: "parents", reason: "must hold at least one genome" })
  return [parents[0]!, ...Array.from({ length: size - 1 }, () => mutate(parents[rng.int(parents.length)]!, sigma, rng))]
}

/** Indices of the `count` fittest, fittest first; equal fitness keeps the earlier index first (so the elite wins ties). */
export const truncate = (fitness: ReadonlyArray<number>, count: number): Array<number> =>
  [...fitness.keys()].sort((a, b) => fitness[b]! - fitness[a]! || a - b).slice(0, count)
