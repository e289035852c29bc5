/**
 * Param schemas with defaults, bounds and a description: the building blocks of a
 * node kind's params struct. Each is an ordinary Effect Schema, so any other
 * Schema works in a params struct too (give it a default with `withDefault`).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

interface NumberOptions<D> {
  readonly default: D
  readonly description: string
  readonly min?: number
  readonly max?: number
  /** Exclude `min` itself (e.g. a learning rate must be > 0). */
  readonly exclusiveMin?: boolean
}

/** Give a param Schema a default, used when the call leaves the field out. */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const bounded = <S extends Schema.Number | Schema.Int>(base: S, options: NumberOptions<number>) => {
  const { min, max, exclusiveMin } = options
  const checks = [
    ...(min === undefined ? [] : [exclusiveMin === true ? Schema.isGreaterThan(min) : Schema.isGreaterThanOrEqualTo(min)]),
    ...(max === undefined ? [] : [Schema.isLessThanOrEqualTo(max)])
  ]
  const checked = checks.length === 0 ? base : base.check(...(checks as [typeof checks[number]]))
  return withDefault(checked.annotate({ description: options.description }), options.default)
}

/**
 * A finite number param.
 *
 * @example
 * lr: Param.number({ default: 0.05, min: 0, exclusiveMin: true, description: "Adam learning rate" })
 */
export const number = (options: NumberOptions<number>) => bounded(Schema.Finite, options)

/**
 * An integer param.
 *
 * @example
 * steps: Param.int({ default: 300, min: 1, description: "Optimizer steps" })
 */
export const int = (options: NumberOptions<number>) => bounded(Schema.Int, options)

/** A boolean param. */
export const boolean = (options: { readonly default: boolean; readonly description: string }) =>
  withDefault(Schema.Boolean.annotate({ description: options.description }), options.default)

/**
 * One of a fixed set of strings.
 *
 * @example
 * reward: Param.literal(["linear", "mlp"], { default: "linear", description: "Form of the gold reward" })
 */
export const literal = <const L extends ReadonlyArray<string>>(
  values: L,
  options: { readonly default: L[number]; readonly description: string }
) => withDefault(Schema.Literals(values).annotate({ description: options.description }), options.default)

/** A string param. */
export const string = (options: { readonly default: string; readonly description: string }) =>
  withDefault(Schema.String.annotate({ description: options.description }), options.default)

/**
 * The node's seed. Left out of a call, it is the pipeline seed of the cell being
 * built (`--seeds 0,1,2` builds one cell per seed), so seeded nodes differ across
 * seeds and unseeded ones collapse into one.
 */
export const seed = withDefault(
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Random seed; defaults to the pipeline seed (--seeds)" }),
  0
)

/** Annotation key marking a param as a path to an input file. */
export const fileAnnotation = "ablate/file"

/**
 * A path to an input file, relative to the working directory. The runtime checks
 * that the file exists before anything runs and hashes its bytes into the node's
 * cache key, so editing the file reruns the node.
 *
 * @example
 * path: Param.file({ default: "data/hh-harmless-1500.jsonl.gz", description: "JSONL of chosen/rejected dialogues" })
 */
export const file = (options: { readonly default: string; readonly description: string }) =>
  withDefault(Schema.String.annotate({ description: options.description, [fileAnnotation]: true }), options.default)
