/**
 * Plain-text output of the command line: aligned tables that read well on a terminal and in a
 * log, and prices as short figures. (The one-line form of an error is `Failure.ts`.)
 *
 * @module
 */

/** Render rows as a table with a header, columns padded to their widest cell. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** A price as a short figure: `free`, `-` when unknown, else dollars per unit. */
export const price = (usd: number | undefined, unit?: string): string => {
  if (usd === undefined) return "-"
  if (usd === 0) return "free"
  const figure = usd >= 0.01 ? usd.toFixed(4) : usd.toPrecision(3)
  return unit === undefined ? `$${figure}` : `$${figure}/${unit}`
}
