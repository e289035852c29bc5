export { banditTask } from "./banditTask.ts"
export { featurize } from "./featurize.ts"
export { gridWorld } from "./gridWorld.ts"
export { heavyTailedBandit } from "./heavyTailedBandit.ts"
export { loadPreferences } from "./loadPreferences.ts"
export { pairFeatures } from "./pairFeatures.ts"
export { preferenceTask } from "./preferenceTask.ts"
export { responseFeatures } from "./responseFeatures.ts"
export { sample } from "./sample.ts"
export { sequenceTask } from "./sequenceTask.ts"
/** Grid-world environments (parse a Trajectories row's `layout`, `step`, `shortestPath`) for policy-optimisation nodes. */
export * as GridEnvironment from "./GridEnvironment.ts"
/** The word, character and hashed tokenizers `featurize` builds. */
export * as Tokenizer from "./Tokenizer.ts"
