/**
 * Artifact types: what flows along the edges of a pipeline graph.
 *
 * An artifact type is a plain descriptor with a name and a storage format. Its
 * TypeScript value type rides along as a phantom field, so a handle typed
 * `Table<"PreferencePairs", ...>` can never be wired where a `Model<"RewardModel">`
 * (or a table of another name) is expected.
 */
import * as Schema from "effect/Schema"

/** Storage formats the artifact store knows how to write: Parquet tables and safetensors models. */
export type Format = "table" | "model"

/** Any artifact type. `Value` is the in-memory value a node receives or returns. */
export interface ArtifactType<Name extends string = string, Value = unknown> {
  readonly name: Name
  readonly format: Format
  /** Phantom: carries the value type only, never set at run time. */
  readonly "~value"?: Value
}

/** The in-memory value of an artifact type. */
export type ValueOf<A extends ArtifactType> = A extends ArtifactType<string, infer V> ? V : never

/** A table artifact: rows decoded by `schema`, stored as Parquet with an Arrow schema derived from it. */
export interface Table<Name extends string = string, Row = unknown> extends ArtifactType<Name, ReadonlyArray<Row>> {
  readonly format: "table"
  readonly schema: Schema.Struct<Schema.Struct.Fields>
}

/**
 * Declare a table artifact type from an Effect Schema struct of its row.
 *
 * @example
 * const PreferencePairs = Artifact.table("PreferencePairs", Schema.Struct({
 *   prompt: Schema.Number, chosen: Schema.Number, rejected: Schema.Number
 * }))
 */
export const table = <const Name extends string, Fields extends Schema.Struct.Fields>(
  name: Name,
  schema: Schema.Struct<Fields>
): Table<Name, Schema.Struct<Fields>["Type"]> => ({ name, format: "table", schema })

/** A dense float32 tensor in row-major order. */
export interface Tensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

/** JSON values allowed in a model's config. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** The value of a model artifact: named tensors plus a JSON config describing the architecture. */
export interface ModelValue {
  readonly config: { readonly [key: string]: Json }
  readonly tensors: { readonly [name: string]: Tensor }
}

/** A model artifact, stored in safetensors layout with its config in the header metadata. */
export interface Model<Name extends string = string> extends ArtifactType<Name, ModelValue> {
  readonly format: "model"
}

/**
 * Declare a model artifact type. Distinct names are distinct types.
 *
 * @example
 * const RewardModel = Artifact.model("RewardModel")
 */
export const model = <const Name extends string>(name: Name): Model<Name> => ({ name, format: "model" })

/**
 * An input that accepts any of several artifact types, for nodes that work on more
 * than one kind of upstream (e.g. a bandit task's `Items` or a `SequenceTask`). The
 * node receives the value of whichever type was wired; handles of other types are
 * still refused, by the compiler and when the graph is built. Inputs only: a node's
 * output has one type.
 *
 * @example
 * const Task = Artifact.oneOf("Task", [Items, SequenceTask])
 */
export interface OneOf<Name extends string = string, Members extends ReadonlyArray<ArtifactType> = ReadonlyArray<ArtifactType>>
  extends ArtifactType<Members[number]["name"], ValueOf<Members[number]>>
{
  /** The name the union is documented under. */
  readonly union: Name
  readonly members: Members
}

export const oneOf = <const Name extends string, const Members extends ReadonlyArray<ArtifactType>>(
  union: Name,
  members: Members
): OneOf<Name, Members> =>
  ({ name: members.map((m) => m.name).join(" | "), format: members[0]!.format, union, members }) as unknown as OneOf<Name, Members>

/** The artifact types an input of type `type` accepts. */
export const accepted = (type: ArtifactType): ReadonlyArray<ArtifactType> =>
  "members" in type ? (type as OneOf).members : [type]

/** One training or evaluation measurement. */
export const MetricRow = Schema.Struct({
  step: Schema.Number,
  name: Schema.String,
  value: Schema.Number
})

/** The per-node metrics table: `(step, name, value)` rows. */
export const Metrics = table("Metrics", MetricRow)

/** The type of the per-node metrics table. */
export type Metrics = typeof Metrics
