/** `npm run docs`: rewrite docs/nodes.md from the node library. */
import * as fs from "node:fs"
import * as path from "node:path"
import * as library from "../nodes/index.ts"
import * as NodeDocs from "../runtime/NodeDocs.ts"

const file = path.resolve(import.meta.dirname, "../docs/nodes.md")
fs.writeFileSync(file, NodeDocs.render(NodeDocs.collect(library)))
console.log(`wrote ${file}`)
