export { pairwiseAccuracy } from "./pairwiseAccuracy.ts"
