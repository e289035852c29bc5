import { describe, expect, it } from "vitest"
import * as Text from "../../runtime/cli/Text.ts"

describe("Text", () => {
  it("wraps at spaces, indenting continuation lines", () => {
    expect(Text.wrap("the quick brown fox jumps", 10)).toBe("the quick\nbrown fox\njumps")
    expect(Text.wrap("the quick brown fox", 11, 2)).toBe("the quick\n  brown fox")
    expect(Text.wrap("  --flag  keeps its lead", 12)).toBe("  --flag\nkeeps its\nlead")
    expect(Text.wrap("one\n\ntwo", 80)).toBe("one\n\ntwo")
  })

  it("keeps a word longer than the width whole, on its own line", () => {
    expect(Text.wrap("see pipelines/quickstart.ts now", 10)).toBe("see\npipelines/quickstart.ts\nnow")
    expect(Text.wrap("a b", 0)).toBe("a\nb")
  })

  it("fits a line by dropping whole trailing words", () => {
    const fitLine = (line: string, width: number) => Text.fitParts(Text.breakable(line), width)
    expect(fitLine("  ▶ rm  running", 100)).toBe("  ▶ rm  running")
    expect(fitLine("  ▶ rm  running fast", 16)).toBe("  ▶ rm  running")
    expect(fitLine("  ▶ rm  running fast", 14)).toBe("  ▶ rm")
    expect(fitLine("  ▶ reward-model  running", 10)).toBe("  ▶")
    expect(fitLine("reward-model running", 5)).toBe("reward-model")
  })

  it("drops a part of several words whole", () => {
    const parts = [...Text.breakable("  ▶ rm  150/300"), "  ETA ~4.1s", "  loss 0.2100"]
    expect(Text.fitParts(parts, 40)).toBe("  ▶ rm  150/300  ETA ~4.1s  loss 0.2100")
    expect(Text.fitParts(parts, 30)).toBe("  ▶ rm  150/300  ETA ~4.1s")
    expect(Text.fitParts(parts, 22)).toBe("  ▶ rm  150/300")
  })

  it("takes the terminal's width, else $COLUMNS, else 80", () => {
    expect(Text.widthOf({ isTTY: true, columns: 33 }, "50")).toBe(33)
    expect(Text.widthOf({ isTTY: true, columns: 0 }, "50")).toBe(50)
    expect(Text.widthOf({ isTTY: false, columns: 33 }, "20")).toBe(20)
    expect(Text.widthOf({}, "0")).toBe(Text.defaultWidth)
    expect(Text.widthOf({}, "wide")).toBe(Text.defaultWidth)
    expect(Text.widthOf({}, undefined)).toBe(Text.defaultWidth)
  })

  it("lays out two columns, moving a description under a left cell too wide for the column", () => {
    expect(Text.twoColumns([["--a", "first"], ["--bb", "second one"]], 80)).toBe("  --a   first\n  --bb  second one")
    expect(Text.twoColumns([["--a", "a long description here"]], 20)).toBe("  --a  a long\n       description\n       here")
    expect(Text.twoColumns([["--a-very-long-flag NAME", "what it does"]], 30)).toBe("  --a-very-long-flag NAME\n      what it does")
  })
})
