/**
 * The command line's own failures, beside the `MediaError`s of the library: a `--provider` that
 * names no provider, options that do not go together, a spec file that cannot be used, and a
 * file that cannot be written. Like every error here they are data with a tag and a `message`
 * that reads as the one line `main.ts` prints.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** A `--provider` that names no registered provider. */
export class UnknownProvider extends Schema.TaggedError<UnknownProvider>()("UnknownProvider", {
  id: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `no provider "${this.id}" (known: ${this.known.join(", ") || "none"})`
  }
}

/** Options that each parse but do not go together (`services up --port` without a service). */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  message: Schema.String
}) {}

/**
 * A spec file given on the command line (`compose spec.json`) that is not JSON or not of the
 * expected shape. Its own failure, not a provider's: the message names the file, not a provider.
 */
export class InvalidSpec extends Schema.TaggedError<InvalidSpec>()("InvalidSpec", {
  /** The file as it was given. */
  path: Schema.String,
  /** What is wrong with it (the schema's account of a spec that does not fit). */
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/** A file of the command line's output (a result, a ticket, subtitles) that could not be written. */
export class WriteFailed extends Schema.TaggedError<WriteFailed>()("WriteFailed", {
  /** The file asked for. */
  path: Schema.String,
  /** What the file system threw. */
  cause: Schema.Defect
}) {
  /** The reason alone, as the file system said it (`EACCES: permission denied, ...`). */
  get reason(): string {
    return this.cause instanceof Error ? this.cause.message : String(this.cause)
  }

  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

/**
 * An input file named on the command line (or in a spec it names) that cannot be read: missing,
 * a directory, not a regular file (a FIFO would block the read forever), or not readable by this
 * user. Found before any provider is called, so the message names the file, not a provider.
 */
export class UnreadableFile extends Schema.TaggedError<UnreadableFile>()("UnreadableFile", {
  /** The file as it was given (or as the spec's folder makes it). */
  path: Schema.String,
  /** Why, in a few words: `not found`, `is a directory`, `not a regular file`, `permission denied`. */
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read ${this.path}: ${this.reason}`
  }
}
