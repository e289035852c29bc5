export { annotators } from "./annotators.ts"
export { bradleyTerry } from "./bradleyTerry.ts"
export { cyclic } from "./cyclic.ts"
export { multiObjective } from "./multiObjective.ts"
