import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { Progress } from "../../dsl/Node.ts"
import * as Random from "../../dsl/Random.ts"
import type { Prompt } from "../../nodes/data/Task.ts"
import * as Adam from "../../nodes/models/Adam.ts"
import * as Mlp from "../../nodes/models/Mlp.ts"
import * as PolicyModel from "../../nodes/models/Policy.ts"
import * as TabularPolicy from "../../nodes/models/TabularPolicy.ts"
import * as Train from "../../nodes/models/Train.ts"
import * as Tensors from "../../nodes/models/Tensors.ts"
import * as Transformer from "../../nodes/models/Transformer.ts"
import { TensorBackend } from "../../runtime/TensorBackend.ts"
import { nodeContext } from "../helpers.ts"

beforeAll(() =>
  Effect.gen(function*() {
    yield* (yield* TensorBackend).ensure
  }).pipe(Effect.provide(TensorBackend.layer("cpu")), Effect.runPromise))

const config: Transformer.TransformerConfig = {
  vocab: 11,
  length: 8,
  width: 16,
  layers: 2,
  heads: 4,
  valueHead: true,
  rewardHead: true,
  embeddingHead: 3
}

const logSoftmaxRow = (row: ArrayLike<number>): Array<number> => {
  const max = Math.max(...Array.from(row))
  const z = Array.from(row).reduce((s, x) => s + Math.exp(x - max), 0)
  return Array.from(row, (x) => x - max - Math.log(z))
}

describe("tiny causal transformer", () => {
  const tokens = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 0, 1]]

  it("has the shapes its heads promise", () => {
    const model = Transformer.init(config, Random.make("shapes"))
    const x = tf.tensor2d(tokens, [2, 6], "int32")
    expect(Transformer.logits(model, x).shape).toEqual([2, 6, 11])
    expect(Transformer.values(model, x).shape).toEqual([2, 6])
    expect(Transformer.reward(model, x).shape).toEqual([2])
    expect(Transformer.embedding(model, x).shape).toEqual([2, 3])
    expect(() => Transformer.logits(model, tf.zeros([1, 9], "int32") as tf.Tensor2D)).toThrow("exceeds the model's 8 positions")
    expect(() => Transformer.init({ ...config, heads: 5 }, Random.make("x"))).toThrow("not divisible by heads 5")
    Transformer.dispose(model)
  })

  it("is causal: changing a token changes no logits at earlier positions", () => {
    const model = Transformer.init(config, Random.make("causal"))
    const a = Transformer.logits(model, tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32")).arraySync()[0]!
    const b = Transformer.logits(model, tf.tensor2d([[1, 2, 3, 9, 5, 6]], [1, 6], "int32")).arraySync()[0]!
    for (let t = 0; t < 3; t++) expect(b[t]).toEqual(a[t])
    expect(b[3]).not.toEqual(a[3])
    Transformer.dispose(model)
  })

  it("log-probabilities match an independent log-softmax of its logits, per token and summed under a mask", () => {
    const model = Transformer.init(config, Random.make("logprobs"))
    const x = tf.tensor2d(tokens, [2, 6], "int32")
    const mask = tf.tensor2d([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1]], [2, 6], "int32")
    const all = Transformer.logits(model, x).arraySync()
    const { perToken, summed } = Transformer.logProbs(model, x, mask)
    const got = perToken.arraySync()
    tokens.forEach((sequence, b) => {
      for (let t = 1; t < sequence.length; t++) {
        expect(got[b]![t - 1]).toBeCloseTo(logSoftmaxRow(all[b]![t - 1]!)[sequence[t]!]!, 5)
      }
    })
    const masks = mask.arraySync()
    const expected = got.map((row, b) => row.reduce((s, v, t) => s + (masks[b]![t + 1] === 1 ? v : 0), 0))
    expect(summed.arraySync()[0]).toBeCloseTo(expected[0]!, 5)
    expect(summed.arraySync()[1]).toBeCloseTo(expected[1]!, 5)
    Transformer.dispose(model)
  })

  it("samples reproducibly; temperature 0 and top-k 1 decode greedily; sample log-probs match logProbs", () => {
    const model = Transformer.init(config, Random.make("sample"))
    const prompts = [[1, 2], [3, 4]]
    const a = Transformer.sample(model, prompts, { tokens: 5, temperature: 1, topK: 0 }, Random.make("s"))
    const b = Transformer.sample(model, prompts, { tokens: 5, temperature: 1, topK: 0 }, Random.make("s"))
    expect(a).toEqual(b)
    const greedy = Transformer.sample(model, prompts, { tokens: 5, temperature: 0, topK: 0 }, Random.make("g"))
    const top1 = Transformer.sample(model, prompts, { tokens: 5, temperature: 1, topK: 1 }, Random.make("t"))
    expect(top1.sequences).toEqual(greedy.sequences)
    for (let t = 2; t < 7; t++) {
      const next = Transformer.logits(model, tf.tensor2d(greedy.sequences.map((s) => s.slice(0, t)), [2, t], "int32")).arraySync()
      greedy.sequences.forEach((s, i) => {
        const row = next[i]![t - 1]!
        expect(s[t]).toBe(row.indexOf(Math.max(...row)))
      })
    }
    const mask = tf.tensor2d(a.sequences.map((s) => s.map((_, t) => (t >= 2 ? 1 : 0))), [2, 7], "int32")
    const { perToken } = Transformer.logProbs(model, tf.tensor2d(a.sequences, [2, 7], "int32"), mask)
    perToken.arraySync().forEach((row, i) => row.slice(1).forEach((v, t) => expect(a.logProbs[i]![t]).toBeCloseTo(v, 4)))
    Transformer.dispose(model)
  })

  it("samples with top-k 3 only among the 3 largest logits, and among all of them", () => {
    const model = Transformer.init(config, Random.make("topk"))
    const draw = Random.make("prompts")
    const prompts = Array.from({ length: 64 }, () => [draw.int(11), draw.int(11)])
    // rank of each generated token among its position's logits: 0 for the largest
    const ranks = (topK: number) => {
      // a high temperature flattens the softmax: without top-k, tokens outside the top 3 are common
      const { sequences } = Transformer.sample(model, prompts, { tokens: 4, temperature: 5, topK }, Random.make(`draws${topK}`))
      return [2, 3, 4, 5].flatMap((t) => {
        const next = tf.tidy(() => Transformer.logits(model, tf.tensor2d(sequences.map((s) => s.slice(0, t)), [prompts.length, t], "int32")).arraySync())
        return sequences.map((s, b) => {
          const row = next[b]![t - 1]!
          return row.filter((logit) => logit > row[s[t]!]!).length
        })
      })
    }
    expect(new Set(ranks(3))).toEqual(new Set([0, 1, 2]))
    expect(Math.max(...ranks(0))).toBeGreaterThanOrEqual(3)
    Transformer.dispose(model)
  })

  it("as a policy, reports every generated token with the throughput", () => {
    const policy: PolicyModel.Loaded = { architecture: "transformer", model: Transformer.init(config, Random.make("progress")) }
    const draw = Random.make("prompts")
    // 300 prompts: two forward-pass chunks (256 and 44)
    const prompts: Array<Prompt> = Array.from({ length: 300 }, (_, id) => ({ id, tokens: [draw.int(11), draw.int(11)], split: "train" }))
    const reports: Array<Progress> = []
    PolicyModel.sample(policy, prompts, 3, { temperature: 1, topK: 0 }, Random.make("s"), (progress) => void reports.push(progress))
    expect(reports.map((r) => r.step)).toEqual([256, 512, 768, 768 + 44, 768 + 88, 900])
    for (const report of reports) {
      expect(report).toMatchObject({ total: 900, unit: "tok" })
      expect(report.throughput).toBeGreaterThan(0)
      expect(report.loss).toBeUndefined()
    }
    PolicyModel.dispose(policy)
  })

  it("learns: Adam through the shared training loop memorises four sequences", async () => {
    const model = Transformer.init({ vocab: 11, length: 8, width: 32, layers: 2, heads: 4 }, Random.make("train"))
    const data = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1], [1, 3, 5, 7, 9, 1, 3, 5], [2, 4, 6, 8, 10, 2, 4, 6]], [4, 8], "int32")
    const optimizer = Adam.make(model.variables, { lr: 0.01 })
    const losses: Array<number> = []
    const ctx = { ...nodeContext(), metric: (_: string, value: number) => void losses.push(value) }
    await Effect.runPromise(
      Train.loop({ ctx, steps: 150, variables: model.variables, optimizer, logEvery: 1, loss: () => tf.neg(tf.mean(Transformer.logProbs(model, data).perToken)) as tf.Scalar })
    )
    expect(losses[0]).toBeGreaterThan(2)
    expect(losses.at(-1)).toBeLessThan(0.1)
    Adam.dispose(optimizer)
    Transformer.dispose(model)
  })

  it("trains its value, reward and embedding heads: gradients reach them and their errors fall", async () => {
    const model = Transformer.init(config, Random.make("heads"))
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 0, 1], [1, 1, 1, 2, 2, 2], [9, 3, 9, 3, 9, 3]], [4, 6], "int32")
    // targets: a value per position (the token / 10), a reward per sequence, an embedding per sequence
    const valueTargets = tf.div(tf.cast(x, "float32"), 10)
    const rewardTargets = tf.tensor1d([1, -1, 0.5, -0.5])
    const embeddingTargets = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
    const errors = () => ({
      value: tf.losses.meanSquaredError(valueTargets, Transformer.values(model, x)),
      reward: tf.losses.meanSquaredError(rewardTargets, Transformer.reward(model, x)),
      embedding: tf.losses.meanSquaredError(embeddingTargets, Transformer.embedding(model, x))
    })
    const measure = () => tf.tidy(() => Object.fromEntries(Object.entries(errors()).map(([head, e]) => [head, e.dataSync()[0]!])))
    const before = measure()
    const optimizer = Adam.make(model.variables, { lr: 0.01 })
    await Effect.runPromise(Train.loop({ ctx: nodeContext(), steps: 100, variables: model.variables, optimizer, loss: () => tf.addN(Object.values(errors())) as tf.Scalar }))
    const after = measure()
    for (const head of ["value", "reward", "embedding"]) expect(after[head]!).toBeLessThan(before[head]! / 10)
    tf.dispose([x, valueTargets, rewardTargets, embeddingTargets])
    Adam.dispose(optimizer)
    Transformer.dispose(model)
  })

  it("round-trips through a model artifact with identical outputs", () => {
    const model = Transformer.init(config, Random.make("roundtrip"))
    const copy = Transformer.fromModel(Transformer.toModel(model))
    const x = tf.tensor2d(tokens, [2, 6], "int32")
    expect(Transformer.logits(copy, x).arraySync()).toEqual(Transformer.logits(model, x).arraySync())
    expect(Transformer.values(copy, x).arraySync()).toEqual(Transformer.values(model, x).arraySync())
    Transformer.dispose(model)
    Transformer.dispose(copy)
  })
})

describe("tabular softmax policy", () => {
  it("gives normalised probabilities and matching log-probabilities", () => {
    const policy = TabularPolicy.init({ prompts: 3, responses: 4 }, Random.make("tab"), 1)
    const probs = TabularPolicy.probabilities(policy).arraySync()
    for (const row of probs) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
    const logp = TabularPolicy.logProbs(policy, tf.tensor1d([0, 1, 2], "int32"), tf.tensor1d([3, 0, 2], "int32")).arraySync()
    expect(logp[0]).toBeCloseTo(Math.log(probs[0]![3]!), 5)
    expect(logp[2]).toBeCloseTo(Math.log(probs[2]![2]!), 5)
    TabularPolicy.dispose(policy)
  })

  it("samples with the softmax frequencies at temperature 1, greedily at 0 and with top-k 1", () => {
    const policy = TabularPolicy.init({ prompts: 1, responses: 4 }, Random.make("freq"), 1)
    const probs = TabularPolicy.probabilities(policy).arraySync()[0]!
    const n = 20_000
    const { responses } = TabularPolicy.sample(policy, Array(n).fill(0), { temperature: 1, topK: 0 }, Random.make("draws"))
    const counts = [0, 1, 2, 3].map((k) => responses.filter((r) => r === k).length / n)
    counts.forEach((c, k) => expect(Math.abs(c - probs[k]!)).toBeLessThan(4 * Math.sqrt(probs[k]! * (1 - probs[k]!) / n) + 1e-3))
    const best = probs.indexOf(Math.max(...probs))
    expect(TabularPolicy.sample(policy, [0, 0], { temperature: 0, topK: 0 }, Random.make("g")).responses).toEqual([best, best])
    expect(TabularPolicy.sample(policy, [0, 0], { temperature: 2, topK: 1 }, Random.make("k")).responses).toEqual([best, best])
    TabularPolicy.dispose(policy)
  })

  it("as a policy, reports the responses drawn by chunk with the throughput, drawing what one pass over all prompts draws", () => {
    const policy: PolicyModel.Loaded = { architecture: "tabular", model: TabularPolicy.init({ prompts: 3, responses: 4 }, Random.make("tab"), 1) }
    const n = 70_000 // two chunks
    const prompts: Array<Prompt> = Array.from({ length: n }, (_, i) => ({ id: i % 3, tokens: [], split: "train" }))
    const options = { temperature: 1, topK: 0 }
    const reports: Array<Progress> = []
    const drawn = PolicyModel.sample(policy, prompts, 1, options, Random.make("s"), (progress) => void reports.push(progress))
    const whole = TabularPolicy.sample(policy.model, prompts.map((p) => p.id), options, Random.make("s"))
    expect(drawn.responses.flat()).toEqual(whole.responses)
    expect(drawn.tokenLogProbs.flat()).toEqual(whole.logProbs)
    expect(reports.map((r) => r.step)).toEqual([65_536, n])
    for (const report of reports) expect(report).toEqual({ step: report.step, total: n, throughput: expect.any(Number), unit: "responses" })
    PolicyModel.dispose(policy)
  })
})

describe("MLP heads", () => {
  it("has as many outputs as asked: policy logits, embeddings, scalar scores", () => {
    const policy = Mlp.init({ inputs: 5, hidden: [8], outputs: 4 }, Random.make("mlp"))
    const x = tf.randomNormal([3, 5]) as tf.Tensor2D
    expect(Mlp.forward(policy, x).shape).toEqual([3, 4])
    const value = Mlp.init({ inputs: 5, hidden: [] }, Random.make("v"))
    expect(Mlp.score(value, x).shape).toEqual([3])
    expect(Mlp.fromModel(Mlp.toModel(policy)).config).toEqual({ inputs: 5, hidden: [8], outputs: 4 })
  })
})

describe("feature rows as tensors", () => {
  it("holds the values TensorFlow.js makes of the nested arrays, and names a row of another length", () => {
    const rows = [[0.1, 2, Math.log(37)], [1e-40, -3.5, 7]]
    const m = Tensors.matrix(rows, 3, "response")
    expect(m.shape).toEqual([2, 3])
    expect(Buffer.from(m.dataSync().buffer).equals(Buffer.from(tf.tensor2d(rows).dataSync().buffer))).toBe(true)
    expect(Tensors.matrix([], 0, "response").shape).toEqual([0, 0])
    expect(() => Tensors.matrix([[1, 2, 3], [4, 5]], 3, "the chosen features of pair")).toThrow(
      expect.objectContaining({ _tag: "InputError", reason: "the chosen features of pair 1 has 2 values where the others have 3" })
    )
    tf.dispose([m])
  })
})
