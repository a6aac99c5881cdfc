/**
 * The one line printed for a failure (`describeFailure`): the argument parser's help document
 * flattened to plain text, an error's message on one line, terminal escapes shown and not sent.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import { describe, expect, it } from "vitest"
import { describeFailure, helpDocLine } from "../../src/cli/Failure.js"
import { parserConsole, plainOutput, stripAnsi } from "../../src/cli/Commands.js"
import { capture } from "../support/CaptureConsole.js"

describe("describeFailure", () => {
  it("a ValidationError is its help document as one line of plain text, styles and blank lines dropped", () => {
    const doc = HelpDoc.sequence(
      HelpDoc.p(Span.spans([Span.text("Received unknown argument: "), Span.error("'--bogus'")])),
      HelpDoc.p("  Did you mean\n '--bogs'?  ")
    )
    expect(helpDocLine(doc)).toBe("Received unknown argument: '--bogus' Did you mean\n '--bogs'?")
    expect(describeFailure(Cause.fail(ValidationError.invalidValue(doc)))).toBe("Received unknown argument: '--bogus' Did you mean '--bogs'?")
    expect(describeFailure(Cause.fail(ValidationError.missingValue(HelpDoc.empty)))).toBe("invalid arguments (see --help)")
  })

  it("an error's message on one line, with its control characters escaped (a remote body cannot drive the terminal)", () => {
    expect(describeFailure(Cause.fail(new Error("together: bad\n\tanswer \u001b[31mred\u001b[0m\u0007")))).toBe(
      "together: bad answer \\x1b[31mred\\x1b[0m\\x07"
    )
    expect(describeFailure(Cause.die(new Error("boom")))).toBe("internal error: boom")
    expect(describeFailure(Cause.interrupt(FiberId.none))).toBeUndefined()
  })
})

describe("the parser's console", () => {
  it("drops what the parser prints on stderr; strips ANSI from what it prints on stdout when plain, only then", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const io = capture()
        yield* parserConsole(io.console, true).error("\u001b[31mbad argument\u001b[0m\n")
        yield* parserConsole(io.console, true).log("\u001b[0;1mUSAGE\u001b[0m")
        yield* parserConsole(io.console, false).log("\u001b[0;1mUSAGE\u001b[0m")
        expect(io.err).toEqual([])
        expect(io.out).toEqual(["USAGE", "\u001b[0;1mUSAGE\u001b[0m"])
      })
    ))

  it("output is plain into a pipe or a file, or on a terminal when NO_COLOR is set (and not empty)", () => {
    expect(plainOutput(undefined, undefined)).toBe(true)
    expect(plainOutput(false, undefined)).toBe(true)
    expect(plainOutput(true, undefined)).toBe(false)
    expect(plainOutput(true, "")).toBe(false)
    expect(plainOutput(true, "1")).toBe(true)
  })

  it("stripAnsi removes styles and cursor moves, nothing else", () => {
    expect(stripAnsi("\u001b[0;1mUSAGE\u001b[0m and \u001b[2K\u001b[1Fmore [1m")).toBe("USAGE and more [1m")
  })
})
