/**
 * The one line the command line prints for a failure: the error's own message (a `MediaError`
 * names its provider and says what happened; the argument parser's `ValidationError` says which
 * argument is wrong), never a stack trace, never a key, never a terminal escape.
 *
 * @module
 */
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

/** The text of a span, its styles dropped. */
const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** The paragraphs of a help document, as plain text, in order. */
const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> => {
  switch (doc._tag) {
    case "Empty":
      return []
    case "Header":
    case "Paragraph":
      return [spanText(doc.value)]
    case "DescriptionList":
      return doc.definitions.flatMap(([term, description]) => [spanText(term), ...paragraphs(description)])
    case "Enumeration":
      return doc.elements.flatMap(paragraphs)
    case "Sequence":
      return [...paragraphs(doc.left), ...paragraphs(doc.right)]
  }
}

/** A help document (what `@effect/cli` says of bad arguments) as one line of plain text. */
export const helpDocLine = (doc: HelpDoc.HelpDoc): string =>
  paragraphs(doc)
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .join(" ")

// Control characters other than whitespace (ESC above all) are shown, not sent: a message may
// carry text from a remote server, which must not drive the user's terminal.
const controls = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g

/** `text` on one line: whitespace runs (newlines included) become one space, control characters their `\xNN` escape. */
export const oneLine = (text: string): string =>
  text
    .replace(/\s+/g, " ")
    .replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .trim()

/** The line to print for a failure, or undefined when there is nothing to say (an interruption, a request for help). */
export const describeFailure = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) {
      if (ValidationError.isHelpRequested(error)) return undefined
      // Some parser errors carry no text: the line still says what kind of failure it was.
      return oneLine(helpDocLine(error.error)) || "invalid arguments (see --help)"
    }
    if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
      return oneLine(error.message)
    }
    return oneLine(String(error))
  }
  if (Cause.isInterruptedOnly(cause)) return undefined
  const defect = Cause.squash(cause)
  return oneLine(`internal error: ${defect instanceof Error ? defect.message : String(defect)}`)
}
