/**
 * The pure math of the node library, importable as `ablate/math`:
 * losses, scores, estimators and metrics, each written like its paper and tested
 * against hand-computed values (all but the random draws of data/math.ts). See docs/math.md.
 */
export * as data from "./data/math.ts"
export * as evaluate from "./evaluate/math.ts"
export * as label from "./label/math.ts"
export * as policy from "./policy/math.ts"
export * as reward from "./reward/math.ts"
