import { describe, expect, it } from "vitest"
import { canonicalJson } from "../../dsl/internal/Canonical.ts"
import * as CacheKey from "../../runtime/CacheKey.ts"

const components: CacheKey.Components = {
  kind: "reward/bradleyTerry",
  version: 1,
  code: { hash: "c0de", files: { "nodes/reward/bradleyTerry.ts": "aa", "nodes/reward/math.ts": "bb" }, packages: { effect: "4.1.0" } },
  params: { steps: 300, lr: 0.02, hidden: 16 },
  inputs: { pairs: "1111", task: "2222" },
  env: { backend: "wasm" }
}

describe("CacheKey", () => {
  it("canonical JSON sorts keys, normalises -0 and drops undefined fields", () => {
    expect(canonicalJson({ b: 1, a: [-0, 1.5, "x"], c: undefined, d: { z: true, y: null } })).toBe(
      `{"a":[0,1.5,"x"],"b":1,"d":{"y":null,"z":true}}`
    )
    expect(() => canonicalJson({ x: Number.NaN })).toThrow("x: NaN is not a finite number")
  })

  it("canonical JSON orders keys by code unit, spells typed arrays as arrays, and names the path of a value it refuses", () => {
    // json.dumps({"b": 1, "B": 2, "é": 3, "a1": [4], "a": [0.5, 0]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expect(canonicalJson({ b: 1, B: 2, "é": 3, a1: [4], a: new Float32Array([0.5, -0]) })).toBe(`{"B":2,"a":[0.5,0],"a1":[4],"b":1,"é":3}`)
    expect(() => canonicalJson({ a: [1, { b: Number.POSITIVE_INFINITY }] })).toThrow("a[1].b: Infinity is not a finite number")
    expect(() => canonicalJson([{ f: () => 1 }])).toThrow("[0].f: a function has no JSON form")
  })

  it("is the sha256 of the canonical components (golden value, computed independently with Python's json + hashlib)", () => {
    // json.dumps(components with code → code.hash, sort_keys=True, separators=(",", ":"))
    expect(CacheKey.make(components)).toBe("0fef8ca001f15dc9149d96680fd0236b5482362d32af6ab892ad870f115ba844")
  })

  it("does not depend on key order, and changes with every component", () => {
    const reordered = { ...components, params: { hidden: 16, lr: 0.02, steps: 300 } }
    expect(CacheKey.make(reordered)).toBe(CacheKey.make(components))
    const variants: Array<CacheKey.Components> = [
      { ...components, kind: "reward/other" },
      { ...components, version: 2 },
      { ...components, code: { ...components.code, hash: "c0df" } },
      { ...components, params: { ...components.params, lr: 0.03 } },
      { ...components, inputs: { ...components.inputs, pairs: "1112" } },
      { ...components, env: { backend: "cpu" } }
    ]
    const keys = new Set([CacheKey.make(components), ...variants.map(CacheKey.make)])
    expect(keys.size).toBe(variants.length + 1)
  })

  it("diff names exactly what changed", () => {
    const after: CacheKey.Components = {
      ...components,
      code: { hash: "c0df", files: { "nodes/reward/bradleyTerry.ts": "aa", "nodes/reward/math.ts": "cc" }, packages: { effect: "4.2.0" } },
      params: { ...components.params, steps: 500 },
      env: { backend: "cpu" }
    }
    expect(CacheKey.diff(components, after).map(CacheKey.describe)).toEqual([
      "params.steps: 300 → 500",
      "code: nodes/reward/math.ts edited",
      "code: package effect 4.1.0 → 4.2.0",
      "env.backend: wasm → cpu"
    ])
    const inputs = { ...components, inputs: { pairs: "9999", task: "2222" } }
    expect(CacheKey.diff(components, inputs).map((c) => c.component)).toEqual(["inputs"])
    expect(CacheKey.diff(components, inputs, { inputs: false })).toEqual([])
  })
})
