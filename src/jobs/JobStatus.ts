/**
 * What one status poll says about a job (`JobStatus`), in the words the poll loop understands,
 * and the readers of provider log text the providers map their answers with: log lines out of
 * text with progress redraws, and the percent done those lines tell.
 *
 * @module
 */

/** What one status poll says about a job. `logs` are all the log lines so far. */
export type JobStatus =
  | { readonly _tag: "Queued"; readonly position?: number | undefined }
  | { readonly _tag: "Running"; readonly logs: ReadonlyArray<string>; readonly percent?: number | undefined }
  | { readonly _tag: "Completed"; readonly logs?: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Cancelled"; readonly message?: string | undefined }

/**
 * The percent done that log lines tell, from the last line that has one: tqdm bars (`45%|###`),
 * or `progress: 45%`, `45.5 %`. Undefined when none does.
 */
export const percentFromLogs = (lines: ReadonlyArray<string>): number | undefined => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    const bar = /(\d{1,3}(?:\.\d+)?)\s?%\|/.exec(line) ?? /(\d{1,3}(?:\.\d+)?)\s?%/.exec(line)
    if (bar !== null) {
      const value = Number(bar[1])
      if (value >= 0 && value <= 100) return value
    }
  }
  return undefined
}

/** Log text (one string, possibly with `\r` progress redraws) as lines. */
export const logLines = (text: string | null | undefined): ReadonlyArray<string> =>
  (text ?? "")
    .split(/\r?\n/)
    .map((line) => {
      const redraws = line.split("\r")
      return (redraws[redraws.length - 1] ?? "").trimEnd()
    })
    .filter((line) => line !== "")
