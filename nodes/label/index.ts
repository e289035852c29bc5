export { bradleyTerry } from "./bradleyTerry.ts"
export { cyclic } from "./cyclic.ts"
