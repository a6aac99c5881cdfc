/**
 * The pure parts of the TTS service: flite's voice list, voice resolution (names, aliases,
 * paths that are just unknown names) and the WAV header reader.
 */
import { describe, expect, it } from "@effect/vitest"
import { parseVoiceList, resolveVoice, voicesFrom } from "../../../src/services/tts/Voices.js"
import { parseWavHeader } from "../../../src/media/Wav.js"

describe("Voices", () => {
  const voices = voicesFrom(parseVoiceList("Voices available: kal awb_time kal16 awb rms slt \n"))

  it("lists flite's voices, slt first, the limited-domain awb_time left out", () => {
    expect(voices.map((v) => v.id)).toEqual(["slt", "rms", "awb", "kal16", "kal"])
    expect(voices[0]).toEqual({ id: "slt", filename: "slt.wav", displayName: "slt (US English, female)", description: "US English, female" })
    expect(voicesFrom(["zed", "slt"]).map((v) => v.displayName)).toEqual(["slt (US English, female)", "zed (English)"])
  })

  it("resolves file names, bare names and aliases case-insensitively; paths are unknown", () => {
    expect(resolveVoice(voices, "slt.wav")?.id).toBe("slt")
    expect(resolveVoice(voices, "RMS")?.id).toBe("rms")
    expect(resolveVoice(voices, "kal16.mp3")?.id).toBe("kal16")
    expect(resolveVoice(voices, "Emily.wav")?.id).toBe("slt")
    expect(resolveVoice(voices, "onyx")?.id).toBe("rms")
    expect(resolveVoice(voices, "fable")?.id).toBe("awb")
    expect(resolveVoice(voices, "../slt.wav")).toBeUndefined()
    expect(resolveVoice(voices, "/usr/share/slt.wav")).toBeUndefined()
    expect(resolveVoice(voices, "nobody")).toBeUndefined()
    expect(resolveVoice(voicesFrom(["rms"]), "emily")).toBeUndefined()
  })
})

describe("WAV header", () => {
  const header = (dataBytes: number, extraChunk = false) => {
    const chunks: Array<number> = []
    const u32 = (n: number) => chunks.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255)
    const u16 = (n: number) => chunks.push(n & 255, (n >> 8) & 255)
    const ascii = (s: string) => chunks.push(...[...s].map((c) => c.charCodeAt(0)))
    ascii("RIFF"); u32(36 + dataBytes); ascii("WAVE")
    if (extraChunk) { ascii("LIST"); u32(5); chunks.push(1, 2, 3, 4, 5, 0) }
    ascii("fmt "); u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
    ascii("data"); u32(dataBytes)
    return new Uint8Array(chunks)
  }

  it("reads format, rate and duration, skipping other (odd-sized) chunks", () => {
    expect(parseWavHeader(header(64000))).toEqual({
      format: 1, channels: 1, sampleRate: 16000, byteRate: 32000, bitsPerSample: 16, dataBytes: 64000, duration: 2
    })
    expect(parseWavHeader(header(32000, true))?.duration).toBe(1)
  })

  it("bounds a placeholder data size by the file size, and refuses what is not a WAV", () => {
    const streamed = header(0xffffffff)
    expect(parseWavHeader(streamed, streamed.length + 16000)?.duration).toBe(0.5)
    expect(parseWavHeader(new TextEncoder().encode("ID3\u0004 not a wav at all"))).toBeUndefined()
    expect(parseWavHeader(header(100).subarray(0, 20))).toBeUndefined()
  })
})
