export { featurize } from "./featurize.ts"
export { loadPreferences } from "./loadPreferences.ts"
export { pairFeatures } from "./pairFeatures.ts"
export { preferenceTask } from "./preferenceTask.ts"
