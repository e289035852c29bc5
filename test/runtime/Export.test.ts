// Artifacts and metrics as text: CSV quoting, JSON rows, model summaries, sparklines, metric
// summaries and metric histories, against values worked out by hand.
import { describe, expect, it } from "vitest"
import * as Export from "../../runtime/cli/Export.ts"
import * as MetricHistory from "../../runtime/MetricHistory.ts"

describe("Export", () => {
  it("CSV: a header of every field, quoting where needed, arrays as JSON", () => {
    expect(Export.csv([
      { prompt: "say \"hi\", then", tokens: [1, 2], score: 0.5 },
      { prompt: "line\nbreak", tokens: new Float32Array([0.5]), extra: true }
    ])).toBe([
      "prompt,tokens,score,extra",
      `"say ""hi"", then","[1,2]",0.5,`,
      `"line\nbreak",[0.5],,true`
    ].join("\n"))
  })

  it("CSV of a table with no rows still has its header; numbers keep every digit", () => {
    expect(Export.csv([], ["a", "b"])).toBe("a,b")
    expect(Export.csv([{ a: 0.1 + 0.2, b: 1e-20 }], ["b", "a"])).toBe("b,a\n1e-20,0.30000000000000004")
  })

  it("layered JSON: the outer levels one member per line, deeper values on one line; typed arrays as arrays", () => {
    expect(Export.layeredJson([{ a: 1, b: [1, 2] }, { a: 2, b: new Float64Array([3]) }], 1)).toBe(`[\n  {"a":1,"b":[1,2]},\n  {"a":2,"b":[3]}\n]`)
    expect(Export.layeredJson({ type: "M", config: { hidden: [16] }, skipped: undefined, tensors: [{ name: "w", shape: [2, 3] }] }, 2)).toBe(
      `{\n  "type": "M",\n  "config": {\n    "hidden": [16]\n  },\n  "tensors": [\n    {"name":"w","shape":[2,3]}\n  ]\n}`
    )
    expect(Export.layeredJson([], 1)).toBe("[]")
    expect(Export.layeredJson([Number.NaN, undefined], 1)).toBe("[\n  null,\n  null\n]")
    const value = { a: [{ b: "x" }, { c: [true, null] }], d: {} }
    for (const levels of [0, 1, 2, 3]) expect(JSON.parse(Export.layeredJson(value, levels))).toEqual(value)
  })

  it("a model's summary: its config, each tensor's shape and size in name order, and the total", () => {
    const model = {
      config: { hidden: 3 },
      tensors: { w: { shape: [2, 3], data: new Float32Array(6) }, b: { shape: [3], data: new Float32Array(3) } }
    }
    expect(Export.modelSummary("RewardModel", model)).toEqual({
      type: "RewardModel",
      config: { hidden: 3 },
      tensors: [{ name: "b", shape: [3], params: 3 }, { name: "w", shape: [2, 3], params: 6 }],
      params: 9
    })
  })

  it("sparklines span min to max, average buckets, sit mid-height when flat, and leave NaN blank", () => {
    expect(Export.sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe("▁▂▃▄▅▆▇█")
    expect(Export.sparkline([0, 0, 7, 7], 2)).toBe("▁█")
    expect(Export.sparkline([3, 3, 3])).toBe("▄▄▄")
    expect(Export.sparkline([1, Number.NaN, 3])).toBe("▁ █")
    expect(Export.sparkline([])).toBe("")
  })

  it("one summary per metric with first, last, extremes and their steps", () => {
    const series = MetricHistory.series([
      { step: 20, name: "loss", value: 0.3 },
      { step: 0, name: "loss", value: 0.7 },
      { step: 10, name: "loss", value: 0.2 },
      { step: 20, name: "accuracy", value: 0.9 }
    ])
    const summaries = Export.metricSummaries(series)
    expect(summaries[0]).toEqual({
      name: "loss",
      points: 3,
      first: { step: 0, value: 0.7 },
      last: { step: 20, value: 0.3 },
      min: { step: 10, value: 0.2 },
      max: { step: 0, value: 0.7 },
      sparkline: "█▁▂"
    })
    expect(summaries.map(Export.summaryText)).toEqual([
      "█▁▂  0.7000 → 0.3000  min 0.2000 @10  max 0.7000 @0  (3 points, steps 0–20)",
      "0.9000 (step 20)"
    ])
  })

  it("a summary's extremes skip values that are not finite, and are left out when none is", () => {
    const [withNaN, allNaN] = Export.metricSummaries([
      { name: "loss", points: [{ step: 0, value: 1 }, { step: 1, value: Number.NaN }, { step: 2, value: 3 }] },
      { name: "kl", points: [{ step: 0, value: Number.NaN }, { step: 1, value: Number.NaN }] }
    ])
    expect([withNaN!.min, withNaN!.max]).toEqual([{ step: 0, value: 1 }, { step: 2, value: 3 }])
    expect(Export.summaryText(allNaN!)).toBe("    NaN → NaN  (2 points, steps 0–1)")
  })

  const series: ReadonlyArray<MetricHistory.Series> = [
    { name: "loss", points: [{ step: 1, value: 0.5 }, { step: 2, value: 0.1 + 0.2 }] },
    { name: "acc", points: [{ step: 2, value: 0.75 }, { step: 3, value: 1 }] }
  ]

  it("a history: a row per step any metric has, in step order, blank where a metric has no value", () => {
    expect(Export.historyRows(series)).toEqual([
      { step: 1, values: [0.5, undefined] },
      { step: 2, values: [0.30000000000000004, 0.75] },
      { step: 3, values: [undefined, 1] }
    ])
    expect(Export.history(series, "csv")).toBe("step,loss,acc\n1,0.5,\n2,0.30000000000000004,0.75\n3,,1")
    expect(Export.history(series, "table")).toBe("step  loss    acc\n1     0.5000\n2     0.3000  0.7500\n3             1")
  })

  it("a history as JSON: every point of each metric by name", () => {
    expect(JSON.parse(Export.history(series, "json"))).toEqual({
      loss: [{ step: 1, value: 0.5 }, { step: 2, value: 0.30000000000000004 }],
      acc: [{ step: 2, value: 0.75 }, { step: 3, value: 1 }]
    })
  })
})
