export { lengthBaseline } from "./lengthBaseline.ts"
export { pairwiseAccuracy } from "./pairwiseAccuracy.ts"
export { preferenceStrength } from "./preferenceStrength.ts"
export { rmAccuracy } from "./rmAccuracy.ts"
