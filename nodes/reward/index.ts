export { bradleyTerry } from "./bradleyTerry.ts"
export { ensemble } from "./ensemble.ts"
export { generalPreference } from "./generalPreference.ts"
export { latentUser } from "./latentUser.ts"
