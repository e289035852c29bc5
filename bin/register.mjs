// `ablate/register`: lets Node run Ablate's TypeScript sources when Ablate is installed
// under node_modules (from a tarball or a git URL), where Node's own type stripping refuses
// to work (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING). A module hook strips the types of
// this package's .ts files with amaro, the package Node itself strips types with (the same
// transform, in strip-only mode, without `module.stripTypeScriptTypes`' experimental-feature
// warning on every command); nothing else is touched. A checkout, or a package installed from
// a path (npm links it), lies outside node_modules and registers nothing.
// `pipeline` imports it itself; a program of one's own: `node --import ablate/register main.ts`.
import { readFileSync } from "node:fs"
import * as module from "node:module"
import { fileURLToPath } from "node:url"

const root = new URL("../", import.meta.url).href

if (fileURLToPath(root).split(/[\\/]/).includes("node_modules")) {
  const require = module.createRequire(import.meta.url)
  module.registerHooks({
    load(url, context, nextLoad) {
      const own = url.startsWith(root) && url.endsWith(".ts") && !url.slice(root.length).startsWith("node_modules/")
      if (!own) return nextLoad(url, context)
      const file = fileURLToPath(url)
      const source = require("amaro").transformSync(readFileSync(file, "utf8"), { mode: "strip-only", filename: file }).code
      return { format: "module", source, shortCircuit: true }
    }
  })
}
