import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as library from "../../nodes/index.ts"
import * as NodeDocs from "../../runtime/NodeDocs.ts"
import { repo } from "../helpers.ts"

describe("docs/nodes.md", () => {
  it("lists every node kind with its params, and is up to date (npm run docs)", () => {
    const kinds = NodeDocs.collect(library)
    expect(kinds.map((k) => k.kind)).toContain("reward/bradleyTerry")
    const rendered = NodeDocs.render(kinds)
    for (const kind of kinds) {
      expect(rendered).toContain(`## \`${kind.kind}\``)
      for (const field of Object.keys(kind.params.fields)) expect(rendered).toContain(`| \`${field}\` |`)
    }
    expect(fs.readFileSync(path.join(repo, "docs", "nodes.md"), "utf8")).toBe(rendered)
  })
})
