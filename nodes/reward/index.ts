export { bradleyTerry } from "./bradleyTerry.ts"
