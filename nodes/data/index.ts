export { preferenceTask } from "./preferenceTask.ts"
