/**
 * A large answer body generated as it is written (never allocated whole), for tests that prove
 * the client stops reading: the server counts the bytes it handed to the socket, which stays far
 * below the body's size when the client gives up early.
 */
import type * as http from "node:http"

/** A body being written: the bytes handed to the socket so far. */
export interface Pumped {
  readonly sent: () => number
}

/**
 * Write `prefix`, then `size` bytes of `fill`, then `suffix` to `res` (whose head the caller has
 * written), 64 KiB at a time and only as fast as the client reads; stops when the connection
 * closes.
 */
export const pump = (
  res: http.ServerResponse,
  size: number,
  options: { readonly prefix?: string; readonly suffix?: string; readonly fill?: number } = {}
): Pumped => {
  const chunk = Buffer.alloc(64 * 1024, options.fill ?? 0x61)
  let sent = 0
  let left = size
  let closed = false
  res.on("close", () => {
    closed = true
  })
  const write = (data: Buffer | string): boolean => {
    sent += Buffer.byteLength(data)
    return res.write(data)
  }
  if (options.prefix !== undefined) write(options.prefix)
  const next = () => {
    while (!closed && left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
      left -= piece.length
      if (!write(piece)) {
        res.once("drain", next)
        return
      }
    }
    if (!closed) {
      if (options.suffix !== undefined) write(options.suffix)
      res.end()
    }
  }
  next()
  return { sent: () => sent }
}
