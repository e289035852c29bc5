/** The node library, one namespace per stage. */
export * as artifacts from "./artifacts.ts"
export * as data from "./data/index.ts"
export * as evaluate from "./evaluate/index.ts"
export * as label from "./label/index.ts"
export * as policy from "./policy/index.ts"
export * as reward from "./reward/index.ts"
