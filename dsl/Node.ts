/**
 * Node kinds: the unit of computation, caching and lineage.
 *
 * `Node.make` defines a kind once (kind id, version, params Schema, typed inputs,
 * typed output, `run` Effect). Calling the kind with upstream handles and params
 * decodes the params, checks the wiring, and returns a typed handle to a node
 * instance. Nothing runs until the runtime executes a plan.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { fileURLToPath } from "node:url"
import { accepted, type ArtifactType, type Json, type OneOf, type Tensor, type ValueOf } from "./Artifact.ts"
import { ArgumentError, ParamError } from "./Errors.ts"
import * as BuildContext from "./internal/BuildContext.ts"
import { hashValue } from "./internal/Canonical.ts"
import type { Random } from "./Random.ts"

/** Progress of a long-running node, shown by the CLI as a bar with step, loss, reward, KL and throughput. */
export interface Progress {
  readonly step: number
  readonly total: number
  readonly loss?: number
  /** a policy trainer's mean reward (or reward margin) at this step */
  readonly reward?: number
  /** a policy trainer's KL to its reference at this step */
  readonly kl?: number
  /** items (tokens, samples, pairs) per second */
  readonly throughput?: number
  /** what `throughput` counts, e.g. "tok" */
  readonly unit?: string
}

/** A snapshot of a training node's state, saved under the node's cache key. */
export interface Checkpoint {
  /** steps completed */
  readonly step: number
  /** weights, optimizer state: everything numeric */
  readonly tensors: { readonly [name: string]: Tensor }
  /** generator states and anything else the loop needs to continue exactly */
  readonly state: { readonly [key: string]: Json }
}

/** What a running node can use besides its params and inputs. */
export interface NodeContext {
  /** Display name of the node in this graph. */
  readonly name: string
  /** Seeded generator derived from the node's identity; split it per purpose. */
  readonly random: Random
  /** Report training or sampling progress (throttled by the display). */
  readonly progress: (progress: Progress) => void
  /** Record a metric into the node's Metrics artifact. */
  readonly metric: (name: string, value: number, step?: number) => void
  /**
   * Checkpoints of this node under its cache key: `load` returns the latest one left
   * by an interrupted run (metrics recorded before it are restored too), `save`
   * replaces it atomically. The runtime removes them when the node completes; a
   * changed key never sees them.
   */
  readonly checkpoint: {
    readonly load: Effect.Effect<Checkpoint | undefined>
    readonly save: (checkpoint: Checkpoint) => Effect.Effect<void>
  }
}

/** The params Schema of a node kind: a struct whose fields carry their defaults. */
export type ParamsSchema = Schema.Struct<Schema.Struct.Fields>

/** Named, typed inputs of a node kind. */
export type InputTypes = { readonly [name: string]: ArtifactType }

/** What `run` receives. */
export interface RunArgs<P extends ParamsSchema, I extends InputTypes> {
  readonly params: P["Type"]
  readonly inputs: { readonly [K in keyof I]: ValueOf<I[K]> }
  readonly ctx: NodeContext
}

/** A typed reference to the output of a node instance in a graph under construction. */
export interface Handle<A extends ArtifactType> {
  readonly "~artifact": A
  readonly node: NodeInstance
}

/** The handles an input of type `A` accepts: one of its members' for an `Artifact.oneOf`. */
export type Accepts<A extends ArtifactType> = A extends OneOf<string, infer Members> ? Handle<Members[number]> : Handle<A>

/** The arguments of a call to a node kind: one handle per input, plus params (defaults fill the rest). */
export type CallArgs<P extends ParamsSchema, I extends InputTypes> =
  & { readonly [K in keyof I]: Accepts<I[K]> }
  & P["Encoded"]

/** The options of a node kind, given to `Node.make`. */
export interface Definition<P extends ParamsSchema, I extends InputTypes, O extends ArtifactType, E, M extends string = string> {
  /** Stable id, `stage/name`, e.g. `reward/bradleyTerry`. Part of the cache key. */
  readonly kind: string
  /** Bump to invalidate every cached result of this kind by hand. Part of the cache key. */
  readonly version: number
  /** One sentence for `docs/nodes.md` and `pipeline show`. */
  readonly description: string
  readonly params: P
  readonly inputs: I
  readonly output: O
  /**
   * True when the node computes with tensors: the tensor backend then enters its cache key, and
   * `pipeline run` runs it in a worker process of its pool, each with its own backend.
   */
  readonly tensors?: boolean
  /**
   * True when the node's code is CPU-heavy without tensors (long loops, big decodes): `pipeline
   * run` runs it in a worker process of its pool, off the event loop that schedules the rest.
   * Nodes without `tensors` or `heavy` run on that event loop: they are cheap, and starting them
   * in a worker would cost more than it saves.
   */
  readonly heavy?: boolean
  /**
   * Names and meanings of the metrics `run` records, for the node reference. `<split>/name`
   * stands for one metric per split (`test/gold`, `train/gold`).
   */
  readonly metrics?: { readonly [name in M]: string }
  /**
   * The metrics that are this node's scalar results (of `metrics`, by the same names): their
   * final values are pooled over seeds into the results table of a run, a `<split>/` metric
   * one row per split.
   */
  readonly results?: ReadonlyArray<NoInfer<M>>
  /** The node kind's module (`import.meta.url`); found from the call stack when omitted. */
  readonly module?: string
  readonly run: (args: RunArgs<P, I>) => Effect.Effect<ValueOf<O>, E>
}

/** A node kind: call it to add a node to the graph being built. */
export interface NodeKind<P extends ParamsSchema, I extends InputTypes, O extends ArtifactType, E, M extends string = string>
  extends Definition<P, I, O, E, M>
{
  (args: CallArgs<P, I>, options?: { readonly name?: string }): Handle<O>
  /** Absolute path of the module that defines the kind (the root of its code fingerprint). */
  readonly module: string
  /** Name of instances not given one: the last segment of `kind`. */
  readonly defaultName: string
}

/** A node kind with its type parameters erased, for the runtime. */
export interface AnyNodeKind {
  readonly kind: string
  readonly version: number
  readonly description: string
  readonly params: ParamsSchema
  readonly inputs: InputTypes
  readonly output: ArtifactType
  readonly tensors?: boolean
  readonly heavy?: boolean
  readonly metrics?: { readonly [name: string]: string }
  readonly results?: ReadonlyArray<string>
  readonly module: string
  readonly defaultName: string
  readonly run: (args: {
    readonly params: unknown
    readonly inputs: { readonly [name: string]: unknown }
    readonly ctx: NodeContext
  }) => Effect.Effect<unknown, unknown>
}

/** One node of a graph: a kind applied to encoded params and upstream nodes. */
export interface NodeInstance {
  /** Structural id: hash of kind, version, params and input ids. Equal sub-graphs share ids. */
  readonly id: string
  readonly kind: AnyNodeKind
  readonly name: string
  /** Schema-encoded params, defaults filled in: what the cache key hashes. */
  readonly params: { readonly [field: string]: Json }
  /** Decoded params, as `run` receives them. */
  readonly decodedParams: unknown
  readonly inputs: { readonly [name: string]: NodeInstance }
}

const callerModule = (): string => {
  const stack = new Error().stack?.split("\n").slice(1) ?? []
  for (const line of stack) {
    // a URL's query (a resident process's, cli/ResidentServer.ts) names no other file
    const match = /\(?((?:file:\/\/)?\/[^():?]+\.[cm]?[jt]s)(?:\?[^():]*)?:\d+:\d+\)?$/.exec(line.trim())
    const file = match?.[1]
    if (file === undefined) continue
    const path = file.startsWith("file://") ? fileURLToPath(file) : file
    if (!path.endsWith("/dsl/Node.ts")) return path
  }
  throw new ArgumentError({
    function: "Node.make",
    argument: "module",
    reason: "is needed: the module that defines this node kind cannot be told from the call stack; pass `module: import.meta.url`"
  })
}

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** A kind's params decoder and encoder, made once per kind: making them is most of what a call costs. */
interface ParamsCodec {
  readonly decode: ReturnType<typeof Schema.decodeUnknownResult<Schema.Codec<unknown, unknown>>>
  readonly encode: (decoded: unknown) => unknown
}

const paramsCodec = (params: ParamsSchema): ParamsCodec => {
  const codec = params as unknown as Schema.Codec<unknown, unknown>
  return { decode: Schema.decodeUnknownResult(codec), encode: Schema.encodeSync(codec) }
}

const decodeParams = (
  kind: AnyNodeKind,
  codec: ParamsCodec,
  nodeName: string,
  raw: Record<string, unknown>
): { readonly decoded: unknown; readonly encoded: { readonly [field: string]: Json } } => {
  const fields = Object.keys(kind.params.fields)
  for (const field of Object.keys(raw)) {
    if (!fields.includes(field)) {
      throw new ParamError({
        node: nodeName,
        field,
        reason: `${kind.kind} has no param "${field}" (its params: ${fields.join(", ") || "none"})`
      })
    }
  }
  const result = codec.decode(raw, { errors: "all" })
  if (result._tag === "Failure") {
    const issue = formatIssue(result.failure.issue).issues[0]
    throw new ParamError({
      node: nodeName,
      field: issue?.path?.map(String).join(".") ?? "",
      reason: `${issue?.message ?? "invalid value"} (got ${JSON.stringify(raw[String(issue?.path?.[0])])})`
    })
  }
  return {
    decoded: result.success,
    encoded: codec.encode(result.success) as { readonly [field: string]: Json }
  }
}

const isHandle = (value: unknown): value is Handle<ArtifactType> =>
  typeof value === "object" && value !== null && "~artifact" in value && "node" in value

const instantiate = (
  kind: AnyNodeKind,
  codec: ParamsCodec,
  args: Readonly<Record<string, unknown>>,
  options: { readonly name?: string } | undefined
): Handle<ArtifactType> => {
  const context = BuildContext.get()
  const name = options?.name ?? kind.defaultName
  const inputs: Record<string, NodeInstance> = {}
  const raw: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(args)) {
    if (key in kind.inputs) continue
    if (value !== undefined) raw[key] = value
  }
  for (const [key, type] of Object.entries(kind.inputs)) {
    const handle = args[key]
    if (!isHandle(handle)) {
      throw new ParamError({ node: name, field: key, reason: `input "${key}" must be a ${type.name} handle` })
    }
    if (!accepted(type).some((member) => member.name === handle["~artifact"].name)) {
      throw new ParamError({
        node: name,
        field: key,
        reason: `input "${key}" expects ${type.name} but was given ${handle["~artifact"].name}`
      })
    }
    inputs[key] = handle.node
  }
  if ("seed" in kind.params.fields && raw["seed"] === undefined) raw["seed"] = context.seed
  const override = context.overrides.get(name)
  if (override !== undefined) {
    Object.assign(raw, override)
    context.usedOverrides.add(name)
  }
  const { decoded, encoded } = decodeParams(kind, codec, name, raw)
  const id = hashValue({
    kind: kind.kind,
    version: kind.version,
    params: encoded,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, n]) => [k, n.id]))
  })
  const node = BuildContext.register({ id, kind, name, params: encoded, decodedParams: decoded, inputs })
  return { "~artifact": kind.output, node }
}

/**
 * Define a node kind.
 *
 * @example
 * export const bradleyTerry = Node.make({
 *   kind: "label/bradleyTerry",
 *   version: 1,
 *   description: "Oracle preference labels from a gold reward.",
 *   params: Schema.Struct({ temperature: Param.number({ default: 1, min: 0 }) }),
 *   inputs: { items: Items },
 *   output: PreferencePairs,
 *   run: ({ params, inputs, ctx }) => Effect.sync(() => label(inputs.items, params, ctx.random))
 * })
 */
export const make = <P extends ParamsSchema, I extends InputTypes, O extends ArtifactType, E = never, const M extends string = never>(
  definition: Definition<P, I, O, E, M>
): NodeKind<P, I, O, E, M> => {
  const paramFields = Object.keys(definition.params.fields)
  const clash = paramFields.find((field) => field in definition.inputs)
  if (clash !== undefined) {
    throw new ArgumentError({ function: `Node.make(${definition.kind})`, argument: `"${clash}"`, reason: "is both a param and an input" })
  }
  const module = definition.module === undefined
    ? callerModule()
    : definition.module.startsWith("file://")
    ? fileURLToPath(definition.module)
    : definition.module
  const defaultName = definition.kind.split("/").at(-1) ?? definition.kind
  const erased = { ...definition, module, defaultName } as unknown as AnyNodeKind
  const codec = paramsCodec(definition.params)
  const call = (args: CallArgs<P, I>, options?: { readonly name?: string }): Handle<O> =>
    instantiate(erased, codec, args as Readonly<Record<string, unknown>>, options) as Handle<O>
  return Object.assign(call, { ...definition, module, defaultName })
}

/** Run an erased node kind's `run` with decoded params: the runtime's single entry point into node code. */
export const runNode = (
  node: NodeInstance,
  inputs: { readonly [name: string]: unknown },
  ctx: NodeContext
): Effect.Effect<unknown, unknown> => Effect.suspend(() => node.kind.run({ params: node.decodedParams, inputs, ctx }))
