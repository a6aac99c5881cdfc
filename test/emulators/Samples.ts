/**
 * Small, valid media payloads the emulators answer with (a 1x1 PNG, a one-frame MP4, a short
 * silent WAV, a sine tone), and the pitch of a WAV, by which a test tells which voice an emulator
 * spoke in.
 */

/** A valid 1x1 transparent PNG. */
export const tinyPng: Buffer = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64"
)

/** A valid MP4 of one 16x16 blue frame (MPEG-4 part 2, made with ffmpeg), 895 bytes: a video input ffprobe reads. */
export const tinyMp4: Buffer = Buffer.from(
  "AAAAHGZ0eXBpc29tAAACAGlzb21pc28ybXA0MQAAA0Ftb292AAAAbG12aGQAAAAAAAAAAAAAAAAAAAPoAAAD6AABAAABAAAAAAAA" +
    "AAAAAAAAAQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAACa3Ry" +
    "YWsAAABcdGtoZAAAAAMAAAAAAAAAAAAAAAEAAAAAAAAD6AAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAA" +
    "AAAAAAAAAEAAAAAAEAAAABAAAAAAACRlZHRzAAAAHGVsc3QAAAAAAAAAAQAAA+gAAAAAAAEAAAAAAeNtZGlhAAAAIG1kaGQAAAAA" +
    "AAAAAAAAAAAAAEAAAABAAFXEAAAAAAAtaGRscgAAAAAAAAAAdmlkZQAAAAAAAAAAAAAAAFZpZGVvSGFuZGxlcgAAAAGObWluZgAA" +
    "ABR2bWhkAAAAAQAAAAAAAAAAAAAAJGRpbmYAAAAcZHJlZgAAAAAAAAABAAAADHVybCAAAAABAAABTnN0YmwAAADqc3RzZAAAAAAA" +
    "AAABAAAA2m1wNHYAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAEAAQAEgAAABIAAAAAAAAAAETTGF2YzU5LjM3LjEwMCBtcGVnNAAA" +
    "AAAAAAAAAAAAAAAY//8AAABgZXNkcwAAAAADgICATwABAASAgIBBIBEAAAAAAw1AAAAAkAWAgIAvAAABsAEAAAG1iRMAAAEAAAAB" +
    "IADEjYgADQCEAhRjAAABskxhdmM1OS4zNy4xMDAGgICAAQIAAAAQcGFzcAAAAAEAAAABAAAAFGJ0cnQAAAAAAAMNQAAAAJAAAAAY" +
    "c3R0cwAAAAAAAAABAAAAAQAAQAAAAAAcc3RzYwAAAAAAAAABAAAAAQAAAAEAAAABAAAAFHN0c3oAAAAAAAAAEgAAAAEAAAAUc3Rj" +
    "bwAAAAAAAAABAAADbQAAAGJ1ZHRhAAAAWm1ldGEAAAAAAAAAIWhkbHIAAAAAAAAAAG1kaXJhcHBsAAAAAAAAAAAAAAAALWlsc3QA" +
    "AAAlqXRvbwAAAB1kYXRhAAAAAQAAAABMYXZmNTkuMjcuMTAwAAAACGZyZWUAAAAabWRhdAAAAbMAEAcAAAG2Fj8ZBtgyEg==",
  "base64"
)

/** A mono 16-bit PCM WAV of `seconds` of silence at `sampleRate`. */
export const silentWav = (seconds = 0.1, sampleRate = 16000): Buffer => {
  const samples = Math.round(seconds * sampleRate)
  const data = samples * 2
  const out = Buffer.alloc(44 + data)
  out.write("RIFF", 0, "ascii")
  out.writeUInt32LE(36 + data, 4)
  out.write("WAVE", 8, "ascii")
  out.write("fmt ", 12, "ascii")
  out.writeUInt32LE(16, 16)
  out.writeUInt16LE(1, 20)
  out.writeUInt16LE(1, 22)
  out.writeUInt32LE(sampleRate, 24)
  out.writeUInt32LE(sampleRate * 2, 28)
  out.writeUInt16LE(2, 32)
  out.writeUInt16LE(16, 34)
  out.write("data", 36, "ascii")
  out.writeUInt32LE(data, 40)
  return out
}

/** The text of the last `user` message of an OpenAI-style chat body, or "". */
export const lastUserMessage = (body: unknown): string => {
  if (typeof body !== "object" || body === null || !("messages" in body) || !Array.isArray(body.messages)) return ""
  const users: Array<unknown> = body.messages.filter(
    (message: unknown) => typeof message === "object" && message !== null && "role" in message && message.role === "user"
  )
  const last = users[users.length - 1]
  return typeof last === "object" && last !== null && "content" in last && typeof last.content === "string" ? last.content : ""
}

/** Split a reply into the deltas a streaming API would send (words with their following space). */
export const deltasOf = (reply: string): ReadonlyArray<string> => reply.match(/\S+\s*/g) ?? []

/** A mono 16-bit PCM WAV of a sine tone at `hz`, `seconds` long, at `sampleRate`. */
export const toneWav = (hz: number, seconds = 1, sampleRate = 24000): Buffer => {
  const out = silentWav(seconds, sampleRate)
  const samples = (out.length - 44) / 2
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(16000 * Math.sin((2 * Math.PI * hz * i) / sampleRate)), 44 + 2 * i)
  return out
}

/**
 * The pitch of a 16-bit PCM WAV (its first channel), from its rising zero crossings a second;
 * undefined when the bytes are not such a WAV or hold no sound. A tone's frequency within a few Hz.
 */
export const pitchOf = (wav: Uint8Array): number | undefined => {
  const bytes = Buffer.from(wav.buffer, wav.byteOffset, wav.byteLength)
  if (bytes.length < 44 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") return undefined
  let offset = 12
  let fmt: { channels: number; sampleRate: number; bits: number } | undefined
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString("ascii", offset, offset + 4)
    const size = bytes.readUInt32LE(offset + 4)
    if (id === "fmt ") fmt = { channels: bytes.readUInt16LE(offset + 10), sampleRate: bytes.readUInt32LE(offset + 12), bits: bytes.readUInt16LE(offset + 22) }
    if (id === "data") {
      if (fmt === undefined || fmt.bits !== 16 || fmt.channels === 0) return undefined
      const frame = 2 * fmt.channels
      const end = Math.min(bytes.length, offset + 8 + size)
      const frames = Math.floor((end - offset - 8) / frame)
      let rising = 0
      let previous = 0
      for (let i = 0; i < frames; i++) {
        const sample = bytes.readInt16LE(offset + 8 + i * frame)
        if (previous < 0 && sample >= 0) rising += 1
        previous = sample
      }
      return rising === 0 ? undefined : rising / (frames / fmt.sampleRate)
    }
    offset += 8 + size + (size % 2)
  }
  return undefined
}
