export { init } from "./init.ts"
export { klOptimal } from "./klOptimal.ts"
