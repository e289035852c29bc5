// Artifacts and metrics as text: CSV quoting, sparklines and metric summaries.
import { describe, expect, it } from "vitest"
import * as Export from "../../runtime/cli/Export.ts"

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

  it("sparklines span min to max, average buckets, and sit mid-height when flat", () => {
    expect(Export.sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe("▁▂▃▄▅▆▇█")
    expect(Export.sparkline([0, 0, 7, 7], 2)).toBe("▁█")
    expect(Export.sparkline([3, 3, 3])).toBe("▄▄▄")
    expect(Export.sparkline([])).toBe("")
  })

  it("one summary per metric with first, last, extremes and their steps", () => {
    const rows = [
      { step: 20, name: "loss", value: 0.3 },
      { step: 0, name: "loss", value: 0.7 },
      { step: 10, name: "loss", value: 0.2 },
      { step: 20, name: "accuracy", value: 0.9 }
    ]
    expect(Export.metricSummaries(rows)).toEqual([
      { name: "loss", text: "█▁▂  0.7000 → 0.3000  min 0.2000 @10  max 0.7000 @0  (3 points, steps 0–20)" },
      { name: "accuracy", text: "0.9000 (step 20)" }
    ])
  })
})
