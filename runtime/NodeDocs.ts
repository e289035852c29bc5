/**
 * The node reference (`docs/nodes.md`), rendered from the node kinds themselves:
 * kind, description, params with their types, defaults and descriptions, inputs,
 * output, metrics, and the columns of every table artifact they read or write.
 * `npm run docs` rewrites the file; a test fails when it is out of date.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Artifact from "../dsl/Artifact.ts"
import type { AnyNodeKind } from "../dsl/Node.ts"

// the same order on every machine (localeCompare's depends on the locale)
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const isNodeKind = (value: unknown): value is AnyNodeKind =>
  typeof value === "function" && typeof (value as { kind?: unknown }).kind === "string" &&
  (value as { params?: unknown }).params !== undefined && typeof (value as { run?: unknown }).run === "function"

/** Every node kind exported by a library module of `{ stage: { name: kind } }` namespaces. */
export const collect = (library: Record<string, unknown>): Array<AnyNodeKind> =>
  Object.values(library)
    .flatMap((namespace) => Object.values(namespace as Record<string, unknown>))
    .filter(isNodeKind)
    .sort((a, b) => byCodeUnits(a.kind, b.kind))

const typeOf = (ast: SchemaAST.AST): string => {
  const type = SchemaAST.toType(ast)
  switch (type._tag) {
    case "Union":
      return type.types.map(typeOf).join(" \\| ")
    case "Literal":
      return JSON.stringify(type.literal)
    case "Arrays":
      return `${type.rest[0] === undefined ? "unknown" : typeOf(type.rest[0])}[]`
    default: {
      const checks = type.checks?.map((check) => check.annotations?.["expected"] ?? "").filter(Boolean) ?? []
      return [type._tag.toLowerCase(), ...checks].join(", ")
    }
  }
}

/** A param's default: its own schema, as the one field of a struct, decoded from a missing key. */
const defaultOf = (field: string, schema: Schema.Struct.Fields[string]): string => {
  const alone = Schema.Struct({ [field]: schema }) as unknown as Schema.Codec<Record<string, unknown>>
  const decoded = Effect.runSync(Effect.option(Schema.decodeUnknownEffect(alone)({})))
  if (decoded._tag === "Some") return field === "seed" ? "pipeline seed" : `\`${JSON.stringify(decoded.value[field])}\``
  return "required"
}

/** Every artifact type the kinds read or write, each once, by name. */
const artifactTypes = (kinds: ReadonlyArray<AnyNodeKind>): Array<Artifact.ArtifactType> => {
  const byName = new Map<string, Artifact.ArtifactType>()
  for (const kind of kinds) {
    for (const type of [kind.output, ...Object.values(kind.inputs)].flatMap(Artifact.accepted)) byName.set(type.name, type)
  }
  return [...byName.values()].sort((a, b) => byCodeUnits(a.name, b.name))
}

const isTable = (type: Artifact.ArtifactType): type is Artifact.Table => type.format === "table"

const artifactSection = (type: Artifact.ArtifactType): string => {
  if (!isTable(type)) return [`### ${type.name}`, "", "A model: named float32 tensors and a JSON config (safetensors).", ""].join("\n")
  const fields = type.schema.fields
  return [
    `### ${type.name}`,
    "",
    "Table (Parquet):",
    "",
    "| column | type |",
    "| --- | --- |",
    ...Object.entries(fields).map(([name, schema]) => `| \`${name}\` | ${typeOf(schema.ast)} |`),
    ""
  ].join("\n")
}

/** The markdown reference for a set of node kinds. */
export const render = (kinds: ReadonlyArray<AnyNodeKind>): string => {
  const sections = kinds.map((kind) => {
    const params = Object.entries(kind.params.fields).map(([field, schema]) =>
      `| \`${field}\` | ${typeOf(schema.ast)} | ${defaultOf(field, schema)} | ${SchemaAST.resolveDescription(schema.ast) ?? ""} |`
    )
    const inputs = Object.entries(kind.inputs).map(([name, type]) => `\`${name}\`: ${type.name}`).join(", ") || "none"
    return [
      `## \`${kind.kind}\``,
      "",
      kind.description,
      "",
      `- inputs: ${inputs}`,
      `- output: ${kind.output.name} (${kind.output.format})`,
      `- tensors: ${kind.tensors === true ? "yes (the backend is part of its cache key)" : "no"}`,
      ...(kind.heavy === true ? ["- heavy: yes (CPU-heavy without tensors: runs in a worker process of the pool)"] : []),
      `- metrics: ${Object.entries(kind.metrics ?? {}).map(([name, meaning]) => `\`${name}\`: ${meaning}`).join("; ") || "none"}`,
      ...(kind.results === undefined ? [] : [`- results (pooled over seeds in a run's results table): ${kind.results.map((name) => `\`${name}\``).join(", ")}`]),
      "",
      ...(params.length === 0 ? ["No params."] : ["| param | type | default | description |", "| --- | --- | --- | --- |", ...params]),
      ""
    ].join("\n")
  })
  return [
    "# Node reference",
    "",
    "Generated from the node kinds by `npm run docs`; a test fails when this file is out of date.",
    "Every node also records a Metrics table of `(step, name, value)` rows; training metrics use TRL's names.",
    "`pipeline run` runs nodes with tensors (and any marked heavy) in worker processes, the others on its",
    "event loop ([distributed.md](distributed.md#local-worker-pool)).",
    "The columns of the tables nodes read and write are listed under [Artifact types](#artifact-types).",
    "",
    ...sections,
    "## Artifact types",
    "",
    ...artifactTypes(kinds).map(artifactSection)
  ].join("\n")
}
