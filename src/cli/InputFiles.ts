/**
 * The input files of a command, checked before any provider is given them: each must be a regular
 * file this process can open for reading. A provider reading it later would fail in its own words
 * ("transport error: PermissionDenied", or fall back to another provider that fails otherwise);
 * checked here, the failure is one line naming the file and why (`UnreadableFile`). The commands
 * take these files as `Args.path`, not `Args.file`: the parser's own checks (exists, is a regular
 * file) would say the same things in other words, and nothing of permission.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { UnreadableFile } from "./Errors.js"

/** The few words for a file system error's code; the error's own message when it has no common one. */
const reasonOf = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return "not found"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory"
    case "ELOOP":
      return "too many symbolic links"
    default:
      return error instanceof Error ? error.message : String(error)
  }
}

/**
 * Check that `file` can be read: it exists, is a regular file (symbolic links followed) and opens
 * for reading. `shown` is how the error names it (default: `file` as given). Gives `file`.
 */
export const readable = (file: string, shown: string = file): Effect.Effect<string, UnreadableFile> =>
  Effect.try({
    try: () => {
      const stat = fs.statSync(file)
      if (stat.isDirectory()) return "is a directory"
      // Opening a FIFO or a device could block or have effects: only regular files are opened.
      if (!stat.isFile()) return "not a regular file"
      // Permission is what opening says, not the mode bits: root reads a file of mode 000, and
      // ACLs or a read-only mount say more than the bits do. Non-blocking, in case the file was
      // replaced by a FIFO since it was looked at.
      fs.closeSync(fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK))
      return undefined
    },
    catch: (error) => new UnreadableFile({ path: shown, reason: reasonOf(error) })
  }).pipe(Effect.flatMap((reason) => (reason === undefined ? Effect.succeed(file) : Effect.fail(new UnreadableFile({ path: shown, reason })))))
