/**
 * Reading a WAV (RIFF/WAVE) header: sample rate, channels, sample size and the length of the
 * sound, from the first bytes of a file. Pure; used by the services (duration of decoded audio)
 * and by the providers (duration of a synthesized file) without running ffprobe.
 *
 * @module
 */

/** What a WAV header says. */
export interface WavInfo {
  readonly format: number
  readonly channels: number
  readonly sampleRate: number
  readonly bitsPerSample: number
  readonly byteRate: number
  /** Bytes of sound, from the `data` chunk's header (or up to the end of the file when unknown). */
  readonly dataBytes: number
  /** Seconds of sound. */
  readonly duration: number
}

const ascii = (bytes: Uint8Array, offset: number): string =>
  String.fromCharCode(bytes[offset] ?? 0, bytes[offset + 1] ?? 0, bytes[offset + 2] ?? 0, bytes[offset + 3] ?? 0)

/**
 * Parse the header at the start of `head` (a few hundred bytes suffice). `fileSize`, when known,
 * bounds the data length: streamed WAVs often carry a placeholder size. Undefined when the bytes
 * are not a PCM-style WAV header.
 */
export const parseWavHeader = (head: Uint8Array, fileSize?: number): WavInfo | undefined => {
  if (head.length < 12 || ascii(head, 0) !== "RIFF" || ascii(head, 8) !== "WAVE") return undefined
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  let offset = 12
  let fmt: Omit<WavInfo, "dataBytes" | "duration"> | undefined
  while (offset + 8 <= head.length) {
    const id = ascii(head, offset)
    const size = view.getUint32(offset + 4, true)
    const body = offset + 8
    if (id === "fmt " && body + 16 <= head.length) {
      fmt = {
        format: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        byteRate: view.getUint32(body + 8, true),
        bitsPerSample: view.getUint16(body + 14, true)
      }
    } else if (id === "data") {
      if (fmt === undefined || fmt.byteRate === 0) return undefined
      const available = fileSize !== undefined ? Math.max(0, fileSize - body) : size
      const dataBytes = size === 0 || size === 0xffffffff || size > available ? available : size
      return { ...fmt, dataBytes, duration: dataBytes / fmt.byteRate }
    }
    offset = body + size + (size % 2)
  }
  return undefined
}
