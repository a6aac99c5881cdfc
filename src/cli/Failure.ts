/**
 * The one line the command line prints for a failure: the error's own message (a `MediaError`
 * names its provider and says what happened), never a stack trace, never a key.
 *
 * @module
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

/** The line to print for a failure, or undefined when it was already reported (bad arguments) or was an interruption. */
export const describeFailure = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return undefined
    if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
      return error.message.replace(/\s+/g, " ")
    }
    return String(error)
  }
  if (Cause.isInterruptedOnly(cause)) return undefined
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
}
