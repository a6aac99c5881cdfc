/**
 * Small, valid media payloads the emulators answer with: a 1x1 PNG and a short silent WAV.
 */

/** A valid 1x1 transparent PNG. */
export const tinyPng: Buffer = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
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
