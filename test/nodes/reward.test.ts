import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { parseRecord } from "../../nodes/data/hhRlhf.ts"
import * as Tokenizer from "../../nodes/data/Tokenizer.ts"
import * as math from "../../nodes/math.ts"
import { FeaturePairs, RewardModel, type FeaturePair } from "../../nodes/artifacts.ts"
import * as Ensemble from "../../nodes/models/Ensemble.ts"
import * as PreferenceModel from "../../nodes/models/PreferenceModel.ts"
import { beats, classOf } from "../../nodes/label/cyclic.ts"
import { data, evaluate, label, reward } from "../../nodes/index.ts"
import * as TableCodec from "../../runtime/TableCodec.ts"
import { Artifact } from "../../dsl/index.ts"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type * as Results from "../../runtime/Results.ts"
import * as Schema from "effect/Schema"
import { cli, fixedNode, repo, runInMemory, statuses, summary, tempProject, writeFile } from "../helpers.ts"

type Accuracy = ReadonlyArray<{ split: string; accuracy: number; ece: number; pairs: number }>

describe("reward side, on small cases", () => {
  it("the Bradley–Terry reward model reaches > 90% held-out accuracy on a noiseless linear task", async () => {
    const { values } = await runInMemory(Pipeline.make("noiseless", () => {
      const task = data.preferenceTask({ items: 400, features: 8, gold: "linear" }, { name: "task" })
      const pairs = label.bradleyTerry({ task, pairs: 1500, temperature: 0 }, { name: "labels" })
      const rm = reward.bradleyTerry({ pairs: data.pairFeatures({ pairs, task }), hidden: 0, steps: 300 }, { name: "rm" })
      return evaluate.pairwiseAccuracy({ model: rm, task }, { name: "accuracy" })
    }))
    const [row] = values["accuracy"] as ReadonlyArray<{ accuracy: number }>
    expect(row!.accuracy).toBeGreaterThan(0.9)
  })

  it("on a bandit task, labels compare responses to the same prompt and the reward model ranks held-out prompts' responses", async () => {
    const { values } = await runInMemory(Pipeline.make("bandit", () => {
      const task = data.banditTask({ prompts: 150, responses: 6, features: 8 }, { name: "task" })
      const pairs = label.bradleyTerry({ task, pairs: 1500, temperature: 0 }, { name: "labels" })
      const rm = reward.bradleyTerry({ pairs: data.pairFeatures({ pairs, task }), hidden: 0, steps: 300 }, { name: "rm" })
      return evaluate.pairwiseAccuracy({ model: rm, task }, { name: "accuracy" })
    }))
    const task = values["task"] as ReadonlyArray<{ item: number; prompt: number; split: string }>
    const promptOf = new Map(task.map((t) => [t.item, t.prompt]))
    const labels = values["labels"] as ReadonlyArray<{ chosen: number; rejected: number }>
    expect(labels.every((l) => promptOf.get(l.chosen) === promptOf.get(l.rejected))).toBe(true)
    expect(new Set(task.filter((t) => t.split === "test").map((t) => t.prompt)).size).toBe(38)
    const [row] = values["accuracy"] as ReadonlyArray<{ accuracy: number; pairs: number }>
    expect(row!.pairs).toBe(38 * 15) // C(6, 2) pairs per held-out prompt
    expect(row!.accuracy).toBeGreaterThan(0.9)
  })

  it("a margin raises the trained margin, label smoothing lowers it, centering pulls mean rewards to 0", async () => {
    const build = (extra: { margin?: number; labelSmoothing?: number; centering?: number; steps?: number }) =>
      runInMemory(Pipeline.make("variants", () => {
        const task = data.preferenceTask({ items: 200, features: 4 }, { name: "task" })
        const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 500 }), task })
        return reward.bradleyTerry({ pairs, hidden: 0, steps: 100, ...extra }, { name: "rm" })
      }))
    // trained to convergence (the noisy labels keep the optimum finite): a required margin
    // moves the optimum's r_c − r_r up, smoothing (a target of 0.8, not 1) holds it back
    const plain = await build({ steps: 1500 })
    const withMargin = await build({ margin: 1, steps: 1500 })
    const smoothed = await build({ labelSmoothing: 0.2, steps: 1500 })
    const hashes = new Set([plain, withMargin, smoothed].map((r) => r.byLabel["rm"]!.record!.output.hash))
    expect(hashes.size).toBe(3)
    const margin = (r: typeof plain) => r.byLabel["rm"]!.record!.finalMetrics["margin"]!
    expect(margin(withMargin)).toBeGreaterThan(margin(plain))
    expect(margin(smoothed)).toBeLessThan(margin(plain))
    const centered = await build({ centering: 1, steps: 1500 })
    const meanReward = (r: typeof plain) => {
      const m = r.byLabel["rm"]!.record!.finalMetrics
      return Math.abs(m["rewards/chosen"]! + m["rewards/rejected"]!)
    }
    expect(meanReward(centered)).toBeLessThan(meanReward(plain))
  })

  it("on cyclic (rock–paper–scissors) preferences the General Preference Model fits held-out pairs, Bradley–Terry cannot", async () => {
    const { values } = await runInMemory(Pipeline.make("cyclic", () => {
      const task = data.preferenceTask({ items: 600, features: 3 }, { name: "task" })
      const pairs = data.pairFeatures({ pairs: label.cyclic({ task, pairs: 2000, testPairs: 600 }), task }, { name: "pairs" })
      return [
        evaluate.rmAccuracy({ model: reward.generalPreference({ pairs }), pairs }, { name: "gpm" }),
        evaluate.rmAccuracy({ model: reward.bradleyTerry({ pairs, hidden: 32, steps: 400 }), pairs }, { name: "bt" })
      ]
    }))
    const test = (label: string) => (values[label] as Accuracy).find((r) => r.split === "test")!
    expect(test("gpm").pairs).toBe(600)
    expect(test("gpm").accuracy).toBeGreaterThan(0.95)
    expect(test("bt").accuracy).toBeLessThanOrEqual(0.67)
  })

  it("on two annotator types who disagree, the latent-user model beats Bradley–Terry, per type and overall", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("users", () => {
      const task = data.preferenceTask({ items: 400, features: 6 }, { name: "task" })
      const labels = label.annotators({ task, types: 2, correlation: -1, annotators: 100, pairs: 20, testPairs: 10 }, { name: "labels" })
      const pairs = data.pairFeatures({ pairs: labels, task }, { name: "pairs" })
      return [
        evaluate.rmAccuracy({ model: reward.latentUser({ pairs }, { name: "latentModel" }), pairs }, { name: "latent" }),
        evaluate.rmAccuracy({ model: reward.bradleyTerry({ pairs, hidden: 32, steps: 400 }), pairs }, { name: "bt" })
      ]
    }))
    const labels = values["labels"] as ReadonlyArray<{ user: string; source: string }>
    expect(new Set(labels.map((l) => l.user)).size).toBe(100)
    expect(new Set(labels.map((l) => l.source))).toEqual(new Set(["type0", "type1"]))
    const accuracy = (model: string, split: string) => (values[model] as Accuracy).find((r) => r.split === split)!.accuracy
    for (const split of ["test", "test:type0", "test:type1"]) expect(accuracy("latent", split)).toBeGreaterThan(accuracy("bt", split))
    expect(byLabel["latentModel"]!.record!.finalMetrics["accuracy"]).toBeGreaterThan(0.85)
    expect(accuracy("latent", "test")).toBeGreaterThan(0.85)
    expect(accuracy("bt", "test")).toBeLessThan(0.6)
  })

  it("cyclic labels follow rock–paper–scissors between the three feature classes", () => {
    expect([classOf([3, 1, 2]), classOf([0, 5, 1]), classOf([0, 1, 2])]).toEqual([0, 1, 2])
    expect([beats(0, 1), beats(1, 2), beats(2, 0), beats(1, 0)]).toEqual([true, true, true, false])
  })

  it("ensemble preference strength ranks injected flipped labels below clean ones (AUC > 0.8 at 20% noise)", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("noise", () => {
      const task = data.preferenceTask({ items: 400, features: 8 }, { name: "task" })
      const labels = label.bradleyTerry({ task, pairs: 1500, temperature: 0, noise: 0.2 }, { name: "labels" })
      const pairs = data.pairFeatures({ pairs: labels, task }, { name: "pairs" })
      return evaluate.preferenceStrength({ model: reward.ensemble({ pairs, members: 5, hidden: 0, steps: 200 }, { name: "ensemble" }), pairs }, { name: "strength" })
    }))
    const labels = values["labels"] as ReadonlyArray<{ flipped: boolean }>
    const strengths = values["strength"] as ReadonlyArray<{ strength: number; spread: number }>
    const flippedRate = labels.filter((l) => l.flipped).length / labels.length
    expect(flippedRate).toBeGreaterThan(0.17)
    expect(flippedRate).toBeLessThan(0.23)
    const auc = math.evaluate.auc(strengths.map((s) => s.strength), labels.map((l) => !l.flipped))
    expect(auc).toBeGreaterThan(0.8)
    expect(strengths.every((s) => s.spread > 0)).toBe(true)
    // the training metrics TRL users know, and the members' disagreement
    const metrics = byLabel["ensemble"]!.record!.finalMetrics
    expect(metrics["accuracy"]).toBeGreaterThan(0.6)
    expect(metrics["rewards/chosen"]! - metrics["rewards/rejected"]!).toBeCloseTo(metrics["margin"]!, 6)
    expect(metrics["spread"]).toBeGreaterThan(0)
  })

  it("multi-objective labels follow the weighted sum of components and keep each component's margin", async () => {
    const { values } = await runInMemory(Pipeline.make("multi", () => {
      const task = data.preferenceTask({ items: 200, features: 6 }, { name: "task" })
      return [
        label.multiObjective({ task, weights: [0.7, 0.2, 0.1], pairs: 300, temperature: 0 }, { name: "mixed" }),
        label.multiObjective({ task, weights: [1, 0, 0], pairs: 300, temperature: 0 }, { name: "first" })
      ]
    }))
    const mixed = values["mixed"] as ReadonlyArray<{ components: ReadonlyArray<number> }>
    expect(mixed.every((p) => p.components.length === 3)).toBe(true)
    expect(mixed.every((p) => 0.7 * p.components[0]! + 0.2 * p.components[1]! + 0.1 * p.components[2]! > 0)).toBe(true)
    // some pairs are won on the combined reward while losing on a minor component
    expect(mixed.some((p) => p.components[2]! < 0)).toBe(true)
    const first = values["first"] as ReadonlyArray<{ components: ReadonlyArray<number> }>
    expect(first.every((p) => p.components[0]! > 0)).toBe(true)
  })

  it("ties get label ½ and no accuracy; noise flips only preferences", async () => {
    const { values } = await runInMemory(Pipeline.make("ties", () => {
      const task = data.preferenceTask({ items: 200, features: 4 }, { name: "task" })
      const labels = label.bradleyTerry({ task, pairs: 1000, temperature: 0, tieMargin: 0.3, noise: 0.5 }, { name: "labels" })
      return data.pairFeatures({ pairs: labels, task }, { name: "pairs" })
    }))
    const labels = values["labels"] as ReadonlyArray<{ tie: boolean; flipped: boolean }>
    const pairs = values["pairs"] as ReadonlyArray<{ label: number }>
    expect(labels.some((l) => l.tie)).toBe(true)
    expect(labels.every((l) => !(l.tie && l.flipped))).toBe(true)
    expect(pairs.map((p) => p.label)).toEqual(labels.map((l) => (l.tie ? 0.5 : 1)))
  })

  it("rmAccuracy: accuracy and the calibration error of max(p, 1 − p) per split and source, against hand-computed values", async () => {
    // a linear reward r(x) = x over one feature, so a pair's margin is chosen − rejected
    const fixed = fixedNode("test/fixedReward", RewardModel, {
      config: { architecture: "mlp", inputs: 1, hidden: [], outputs: 1 },
      tensors: { "l0.w": { shape: [1, 1], data: Float32Array.of(1) }, "l0.b": { shape: [1], data: Float32Array.of(0) } }
    }, { tensors: true })
    // held-out pairs with these margins, two per source, and a training pair
    const margins = [3, 1, -1, 0.5]
    const pairs = fixedNode("test/fixedPairs", FeaturePairs, [
      ...margins.map((m, i) => ({ chosen: [m], rejected: [0], label: 1, user: "", source: i < 2 ? "a" : "b", split: "test" as const })),
      { chosen: [2], rejected: [0], label: 1, user: "", source: "", split: "train" as const }
    ])
    const { values } = await runInMemory(Pipeline.make("rm-accuracy", () =>
      evaluate.rmAccuracy({ model: fixed({}, { name: "model" }), pairs: pairs({}, { name: "pairs" }) }, { name: "eval" })))
    const rows = Object.fromEntries((values["eval"] as Accuracy).map((r) => [r.split, r]))
    // confidences σ(3) = 0.952574 (right, bin 0.9), σ(1) = 0.731059 (right, bin 0.7),
    // 1 − σ(−1) = 0.731059 (wrong, bin 0.7), σ(0.5) = 0.622459 (right, bin 0.6)
    expect(rows["test"]).toMatchObject({ accuracy: 0.75, pairs: 4 })
    expect(rows["test"]!.ece).toBeCloseTo((0.047426 + 2 * (0.731059 - 0.5) + 0.377541) / 4, 5)
    expect(rows["test:a"]).toMatchObject({ accuracy: 1, pairs: 2 })
    expect(rows["test:a"]!.ece).toBeCloseTo((0.047426 + 0.268941) / 2, 5)
    expect(rows["test:b"]).toMatchObject({ accuracy: 0.5, pairs: 2 })
    expect(rows["test:b"]!.ece).toBeCloseTo((0.731059 + 0.377541) / 2, 5)
    expect(rows["train"]).toMatchObject({ accuracy: 1, pairs: 1 })
  })

  it("rmAccuracy reports accuracy and a calibration error per split", async () => {
    const { values } = await runInMemory(Pipeline.make("rm-accuracy", () => {
      const task = data.preferenceTask({ items: 300, features: 6 }, { name: "task" })
      const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 800, temperature: 0 }), task })
      return evaluate.rmAccuracy({ model: reward.bradleyTerry({ pairs, hidden: 0, steps: 200 }), pairs }, { name: "eval" })
    }))
    const [train] = values["eval"] as Accuracy
    expect(train).toMatchObject({ split: "train", pairs: 800 })
    expect(train!.accuracy).toBeGreaterThan(0.9)
    expect(train!.ece).toBeGreaterThanOrEqual(0)
    expect(train!.ece).toBeLessThan(0.5)
  })

  it("memberRewards gives each ensemble member's rewards, rewards is their mean, and a member's pair scores are its reward margins", async () => {
    const { values } = await runInMemory(Pipeline.make("members", () => {
      const task = data.preferenceTask({ items: 100, features: 4 }, { name: "task" })
      const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 200 }), task }, { name: "pairs" })
      return reward.ensemble({ pairs, members: 3, hidden: 4, steps: 20 }, { name: "ens" })
    }))
    const model = values["ens"] as ModelValue
    const pairs = (values["pairs"] as ReadonlyArray<FeaturePair>).slice(0, 10)
    const features = pairs.flatMap((p) => [p.chosen, p.rejected])
    const members = PreferenceModel.memberRewards(model, features)
    expect(members.length).toBe(3)
    expect(members.every((m) => m.length === 20)).toBe(true)
    const mean = PreferenceModel.rewards(model, features)
    mean.forEach((r, j) => expect(r).toBeCloseTo((members[0]![j]! + members[1]![j]! + members[2]![j]!) / 3, 12))
    const scores = PreferenceModel.memberScores(model, pairs)
    scores.forEach((member, i) => member.forEach((s, p) => expect(s).toBeCloseTo(members[i]![2 * p]! - members[i]![2 * p + 1]!, 5)))
    expect(PreferenceModel.memberRewards(Ensemble.members(model)[1]!, features)).toEqual([members[1]])
  })
})

describe("text preferences", () => {
  it("loads the HH-RLHF sample: prompt up to the last Assistant turn, responses after it, a seeded split", async () => {
    const { values } = await runInMemory(Pipeline.make("hh", () => data.loadPreferences({ path: path.join(repo, "data/hh-harmless-1500.jsonl.gz") }, { name: "load" })))
    const rows = values["load"] as ReadonlyArray<{ prompt: string; chosen: string; rejected: string; split: string }>
    expect(rows).toHaveLength(1500)
    expect(rows.filter((r) => r.split === "test")).toHaveLength(375)
    for (const row of rows) {
      expect(row.prompt.startsWith("\n\nHuman:")).toBe(true)
      expect(row.prompt.endsWith("\n\nAssistant:")).toBe(true)
    }
    // one record's dialogues part before their last turn: its responses keep the turns from there on
    expect(rows.filter((r) => r.chosen.includes("Assistant:") || r.rejected.includes("Assistant:"))).toHaveLength(1)
    // the "shorter is chosen" rate the dataset's README states: about 55%
    const shorter = rows.filter((r) => r.chosen.length < r.rejected.length).length / rows.length
    expect(shorter).toBeGreaterThan(0.52)
    expect(shorter).toBeLessThan(0.58)
  })

  it("splits a record at the last Assistant turn its two dialogues share", () => {
    expect(parseRecord({ chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: a\n\nAssistant: c" }))
      .toEqual({ prompt: "\n\nHuman: a\n\nAssistant:", chosen: "b", rejected: "c" })
    // parted before the last turn: the responses hold every turn after the shared part
    expect(parseRecord({
      chosen: "\n\nHuman: a\n\nAssistant: b\n\nHuman: d\n\nAssistant: e",
      rejected: "\n\nHuman: a\n\nAssistant: c\n\nHuman: d\n\nAssistant: f"
    })).toEqual({ prompt: "\n\nHuman: a\n\nAssistant:", chosen: "b\n\nHuman: d\n\nAssistant: e", rejected: "c\n\nHuman: d\n\nAssistant: f" })
    expect(() => parseRecord({ chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: x\n\nAssistant: b" })).toThrow("share no \"Assistant:\" turn")
    // parted inside the first Assistant marker itself
    expect(() => parseRecord({ chosen: "\n\nAssistant: b", rejected: "\n\nAssistXnt: \n\nAssistant: c" })).toThrow("share no \"Assistant:\" turn")
    expect(() => parseRecord({ prompt: null, chosen: "b", rejected: "c" })).toThrow("field \"prompt\": must be a string, got nothing")
    expect(() => parseRecord({ chosen: "\n\nHuman: a\n\nAssistant: b", rejected: 3 })).toThrow("field \"rejected\": must be a string, got number")
  })

  it("loads Parquet files with chosen and rejected columns, and an optional prompt column", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-pq-"))
    const write = <F extends Schema.Struct.Fields>(name: string, fields: F, rows: ReadonlyArray<unknown>) => {
      fs.writeFileSync(path.join(dir, name), TableCodec.encode(Artifact.table("Pairs", Schema.Struct(fields)), rows))
      return path.join(dir, name)
    }
    const run = (file: string) => runInMemory(Pipeline.make("pq", () => data.loadPreferences({ path: file, heldOut: 0.5 }, { name: "load" })))
    const load = async (file: string) => (await run(file)).values["load"]
    const dialogues = write("dialogues.parquet", { chosen: Schema.String, rejected: Schema.String }, [
      { chosen: "\n\nHuman: hi\n\nAssistant: hello", rejected: "\n\nHuman: hi\n\nAssistant: go away" },
      { chosen: "\n\nHuman: 2+2?\n\nAssistant: 4", rejected: "\n\nHuman: 2+2?\n\nAssistant: 5" }
    ])
    const expected = [
      { prompt: "\n\nHuman: hi\n\nAssistant:", chosen: "hello", rejected: "go away" },
      { prompt: "\n\nHuman: 2+2?\n\nAssistant:", chosen: "4", rejected: "5" }
    ]
    expect(await load(dialogues)).toMatchObject(expected)
    const prompted = write("prompted.parquet", { prompt: Schema.String, chosen: Schema.String, rejected: Schema.String }, expected)
    expect(await load(prompted)).toMatchObject(expected)
    const noRejected = write("bad.parquet", { prompt: Schema.String, chosen: Schema.String }, [{ prompt: "p", chosen: "c" }])
    const { byLabel } = await run(noRejected)
    expect(byLabel["load"]!.status).toBe("failed")
    expect(byLabel["load"]!.error).toContain(`${noRejected}: no column "rejected" (the file has "prompt", "chosen")`)
  })

  it("a malformed line fails the load naming the file and line, and nothing is cached", async () => {
    const dir = tempProject({
      "pairs.jsonl": `{"chosen": "\\n\\nHuman: a\\n\\nAssistant: b", "rejected": "\\n\\nHuman: a\\n\\nAssistant: c"}\n{"chosen": "oops"\n`,
      "load.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { data } from "@ablate/nodes/index.ts"
export default Pipeline.make("load", () => data.loadPreferences({ path: "pairs.jsonl" }, { name: "load" }))
`
    })
    const result = await cli(["run", "load.ts", "--json"], dir)
    expect(result.code).toBe(1)
    expect(statuses(result.stdout)).toEqual({ load: "failed" })
    expect(result.stdout).toContain("pairs.jsonl: line 2: not valid JSON")
    expect(fs.existsSync(path.join(dir, ".ablate", "keys")) ? fs.readdirSync(path.join(dir, ".ablate", "keys")) : []).toEqual([])
    writeFile(dir, "pairs.jsonl", `{"chosen": "no turns here", "rejected": "x"}\n`)
    const noTurn = await cli(["run", "load.ts", "--json"], dir)
    expect(noTurn.stdout).toContain(`param \\"path\\": pairs.jsonl: line 1: field \\"chosen\\": has no \\"Assistant:\\" turn`)
  })

  it("featurize builds its vocabulary from the training texts only: a word seen only in held-out pairs is unknown", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ablate-featurize-")), "pairs.jsonl")
    const record = (i: number) => ({ prompt: "\n\nHuman: hi\n\nAssistant:", chosen: `yes sure word${i}`, rejected: `no` })
    fs.writeFileSync(file, Array.from({ length: 8 }, (_, i) => JSON.stringify(record(i))).join("\n"))
    const { values } = await runInMemory(Pipeline.make("featurize", () =>
      data.featurize({ preferences: data.loadPreferences({ path: file, heldOut: 0.5 }), tokenizer: "words", size: 64 }, { name: "features" })))
    const rows = values["features"] as ReadonlyArray<FeaturePair>
    expect(rows).toHaveLength(8)
    const unknown = 63 // id size − 1; then one more feature, log(1 + length)
    for (const row of rows) {
      expect(row.chosen).toHaveLength(65)
      expect(row.chosen[64]).toBeCloseTo(Math.log1p(3), 12) // three words
      expect(row.chosen[unknown]).toBe(row.split === "test" ? Math.log1p(1) : 0)
    }
    expect(new Set(rows.map((r) => r.split))).toEqual(new Set(["train", "test"]))
  })

  it("tokenizers: word and character vocabularies by frequency, hashed words", () => {
    const words = Tokenizer.build("words", 3, ["the cat", "the dog", "The end"])
    expect(words.encode("the cat sat")).toEqual([0, 1, 2]) // "the" most frequent; "cat" < "dog" < "end" alphabetically; "sat" unknown
    const chars = Tokenizer.build("chars", 3, ["aab"])
    expect(chars.encode("abc")).toEqual([0, 1, 2])
    const hashed = Tokenizer.build("hashed", 16, [])
    expect(hashed.encode("Hello hello")).toEqual([Tokenizer.fnv1a("hello") % 16, Tokenizer.fnv1a("hello") % 16])
    expect(Tokenizer.fnv1a("a")).toBe(0xe40c292c) // published FNV-1a test vector
    expect(Tokenizer.bagOfTokens(words, "the the cat")).toEqual([Math.log1p(2), Math.log1p(1), 0, Math.log1p(3)])
  })

  it("the HH-RLHF reward model pipeline beats the shorter-response baseline on its held-out split", async () => {
    const result = await cli(["run", "pipelines/hh-reward-model.ts", "--json", "--store", fs.mkdtempSync(path.join(os.tmpdir(), "ablate-hh-"))], repo)
    expect(result.code).toBe(0)
    const { outputs } = summary<Accuracy[number]>(result.stdout)
    const test = (label: string) => outputs.find((o) => o.label === label)!.value!.find((r) => r.split === "test")!
    expect(test("accuracy").pairs).toBe(375)
    expect(test("accuracy").accuracy).toBeGreaterThan(test("lengthBaseline").accuracy)
    expect(test("accuracy").accuracy).toBeGreaterThan(0.55)
    // both evaluations are results: the table has the baseline's accuracy as the node reported it
    const { results } = summary(result.stdout) as { results?: Results.Table }
    const row = results?.rows.find((r) => r.output === "lengthBaseline" && r.split === "test")
    expect(row?.metrics["accuracy"]?.mean).toBe(test("lengthBaseline").accuracy)
  })
})
