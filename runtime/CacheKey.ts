/**
 * The cache key of a node, exactly as DESIGN.md gives it:
 *
 *   key = sha256(canonical({ kind, version, code, params, inputs, env }))
 *
 * `code` is the transitive fingerprint of the node kind's module, `params` the
 * Schema-encoded params, `inputs` the content hashes of the upstream artifacts
 * (not their keys), `env` whatever changes numerics (the tensor backend).
 * `diff` says which component changed between two computations of a node.
 */
import type { Json } from "../dsl/Artifact.ts"
import { canonicalJson, sha256 } from "../dsl/internal/Canonical.ts"

/** The code a node kind runs: its module and every local module it imports, plus package versions. */
export interface CodeFingerprint {
  readonly hash: string
  /** project-relative path → sha256 of its bytes */
  readonly files: { readonly [path: string]: string }
  /** package name → resolved version */
  readonly packages: { readonly [name: string]: string }
}

/** Everything the key hashes, kept in full so a later plan can say what changed. */
export interface Components {
  readonly kind: string
  readonly version: number
  readonly code: CodeFingerprint
  readonly params: { readonly [field: string]: Json }
  /** input name → content hash of the upstream artifact */
  readonly inputs: { readonly [name: string]: string }
  readonly env: { readonly [name: string]: Json }
}

/** The fingerprint hash of a set of files and packages. */
export const codeHash = (files: CodeFingerprint["files"], packages: CodeFingerprint["packages"]): string =>
  sha256(canonicalJson({ files, packages }))

/** The cache key of a node. */
export const make = (components: Components): string =>
  sha256(
    canonicalJson({
      kind: components.kind,
      version: components.version,
      code: components.code.hash,
      params: components.params,
      inputs: components.inputs,
      env: components.env
    })
  )

/** One difference between the components of two computations of a node. */
export type Change =
  | { readonly component: "kind"; readonly before: string; readonly after: string }
  | { readonly component: "version"; readonly before: number; readonly after: number }
  | { readonly component: "params"; readonly field: string; readonly before: Json | undefined; readonly after: Json | undefined }
  | { readonly component: "code"; readonly file: string; readonly change: "edited" | "added" | "removed" }
  | { readonly component: "code"; readonly package: string; readonly before: string | undefined; readonly after: string | undefined }
  | { readonly component: "inputs"; readonly input: string; readonly before: string | undefined; readonly after: string | undefined }
  | { readonly component: "env"; readonly field: string; readonly before: Json | undefined; readonly after: Json | undefined }

const keysOf = (a: object, b: object): Array<string> => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()

/**
 * What changed from `before` to `after`. Pass `inputs: false` when an upstream has
 * not run yet, so `after.inputs` is incomplete and is not compared.
 */
export const diff = (
  before: Components,
  after: Components,
  options: { readonly inputs: boolean } = { inputs: true }
): Array<Change> => {
  const changes: Array<Change> = []
  if (before.kind !== after.kind) changes.push({ component: "kind", before: before.kind, after: after.kind })
  if (before.version !== after.version) changes.push({ component: "version", before: before.version, after: after.version })
  for (const field of keysOf(before.params, after.params)) {
    const [b, a] = [before.params[field], after.params[field]]
    if (canonicalJson(b ?? null) !== canonicalJson(a ?? null)) changes.push({ component: "params", field, before: b, after: a })
  }
  if (before.code.hash !== after.code.hash) {
    for (const file of keysOf(before.code.files, after.code.files)) {
      const [b, a] = [before.code.files[file], after.code.files[file]]
      if (b === a) continue
      changes.push({ component: "code", file, change: b === undefined ? "added" : a === undefined ? "removed" : "edited" })
    }
    for (const name of keysOf(before.code.packages, after.code.packages)) {
      const [b, a] = [before.code.packages[name], after.code.packages[name]]
      if (b !== a) changes.push({ component: "code", package: name, before: b, after: a })
    }
  }
  if (options.inputs) {
    for (const input of keysOf(before.inputs, after.inputs)) {
      const [b, a] = [before.inputs[input], after.inputs[input]]
      if (b !== a) changes.push({ component: "inputs", input, before: b, after: a })
    }
  }
  for (const field of keysOf(before.env, after.env)) {
    const [b, a] = [before.env[field], after.env[field]]
    if (canonicalJson(b ?? null) !== canonicalJson(a ?? null)) changes.push({ component: "env", field, before: b, after: a })
  }
  return changes
}

const short = (value: Json | undefined): string =>
  value === undefined ? "(unset)" : typeof value === "string" ? value : JSON.stringify(value)

/** One line describing a change, as `pipeline plan --explain` prints it. */
export const describe = (change: Change): string => {
  switch (change.component) {
    case "kind":
      return `kind: ${change.before} → ${change.after}`
    case "version":
      return `version: ${change.before} → ${change.after}`
    case "params":
      return `params.${change.field}: ${short(change.before)} → ${short(change.after)}`
    case "code":
      return "file" in change
        ? `code: ${change.file} ${change.change}`
        : `code: package ${change.package} ${change.before ?? "(none)"} → ${change.after ?? "(none)"}`
    case "inputs":
      return `inputs.${change.input}: upstream artifact ${change.before?.slice(0, 12) ?? "(none)"} → ${change.after?.slice(0, 12) ?? "(none)"}`
    case "env":
      return `env.${change.field}: ${short(change.before)} → ${short(change.after)}`
  }
}
