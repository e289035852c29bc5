export { lengthBaseline } from "./lengthBaseline.ts"
export { pairwiseAccuracy } from "./pairwiseAccuracy.ts"
export { rmAccuracy } from "./rmAccuracy.ts"
