export { bradleyTerry } from "./bradleyTerry.ts"
export { generalPreference } from "./generalPreference.ts"
