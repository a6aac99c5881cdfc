/**
 * Voice cloning through the Chatterbox provider, against the emulator of the real Chatterbox TTS
 * Server (`test/emulators/chatterbox.ts`, devnen/Chatterbox-TTS-Server @ 68213e7): our own TTS
 * service cannot clone, so only a stand-in of the real upload-and-clone contract shows that a
 * clone works end to end, that a clip is uploaded once, and how the server's refusals arrive.
 * The emulator speaks at the pitch of the voice it was given, which is how a test hears that
 * the cloned recording was used.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, it } from "vitest"
import { Audio, fromBytes, fromFile, fromUrl, text } from "../../../src/domain/Asset.js"
import * as Chatterbox from "../../../src/providers/chatterbox/index.js"
import { chatterbox, type ChatterboxEmulator, mp3Hz, sampleRate } from "../../emulators/chatterbox.js"
import * as Faults from "../../emulators/Faults.js"
import { pitchOf, tinyPng, toneWav } from "../../emulators/Samples.js"

let root: string

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automarket-chatterbox-clone-"))
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const noRetry = { retry: { retries: 0 } }
const locationOf = (emulator: ChatterboxEmulator) => ({ url: Effect.succeed(emulator.url), configured: true })
const providerAt = (emulator: ChatterboxEmulator) => Chatterbox.make(locationOf(emulator), { outputDir: join(root, "out"), client: noRetry })
const clientAt = (emulator: ChatterboxEmulator) => Chatterbox.ChatterboxClient.make(locationOf(emulator), noRetry)

/** A reference recording on disk: a tone at `hz`. */
const recording = (name: string, hz: number, seconds = 2, rate = sampleRate): string => {
  const path = join(root, name)
  writeFileSync(path, toneWav(hz, seconds, rate))
  return path
}

const wavReference = (source: Audio["source"]) => new Audio({ source, mimeType: "audio/wav" })

/** The pitch of a synthesized file. */
const pitchOfAudio = (audio: Audio): number => {
  if (audio.source._tag !== "File") throw new Error(`expected a file, got ${audio.source._tag}`)
  return pitchOf(readFileSync(audio.source.path)) ?? Number.NaN
}

const clonesOf = (emulator: ChatterboxEmulator) =>
  emulator.requests.filter((r) => r.path === "/tts").map((r) => (Predicate.isRecord(r.json) ? r.json : {}))

describe("Chatterbox reference recordings", () => {
  const { referenceName, sniffReference } = Chatterbox.ChatterboxClient
  const bytes = (...values: ReadonlyArray<number>) => Uint8Array.from(values)

  it("are recognized by their first bytes: RIFF/WAVE, an ID3 tag or an MPEG audio frame", () => {
    expect(sniffReference(toneWav(100, 0.01))).toBe("wav")
    expect(sniffReference(new TextEncoder().encode("ID3\u0004\u0000"))).toBe("mp3")
    expect(sniffReference(bytes(0xff, 0xfb, 0x90, 0x64))).toBe("mp3") // MPEG-1 layer III
    expect(sniffReference(bytes(0xff, 0xf1, 0x50, 0x80))).toBeUndefined() // ADTS AAC: layer bits 00
    expect(sniffReference(new TextEncoder().encode("RIFF\u0000\u0000\u0000\u0000AVI "))).toBeUndefined()
    expect(sniffReference(tinyPng)).toBeUndefined()
    expect(sniffReference(new Uint8Array(2048))).toBeUndefined()
  })

  it("are named after their content", () => {
    expect(referenceName("ab".repeat(32), "mp3")).toBe(`automarket-ref-${"ab".repeat(16)}.mp3`)
  })
})

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Chatterbox voice cloning (emulated Chatterbox TTS Server)", (it) => {
  it.scoped("clones a voice: the file is uploaded as `files` under its content's name, /tts asks for that clone, the WAV speaks in it", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const path = recording("my voice.wav", 330)
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())

      const plain = yield* model.transform(text("Hello there."))
      const cloned = yield* model.transform(text("Hello there."), { referenceAudio: wavReference(fromFile(path)) })

      expect(emulator.state.uploads).toHaveLength(1)
      const upload = emulator.state.uploads[0]!
      expect(upload.field).toBe("files")
      expect(upload.filename).toMatch(/^automarket-ref-[0-9a-f]{32}\.wav$/)
      expect(upload.contentType).toBe("audio/wav")
      expect(upload.bytes.equals(readFileSync(path))).toBe(true)
      expect(emulator.count("/get_reference_files")).toBe(1)

      const [first, second] = clonesOf(emulator)
      expect(first).toMatchObject({ voice_mode: "predefined", predefined_voice_id: "Emily.wav" })
      expect(second).toMatchObject({ voice_mode: "clone", reference_audio_filename: upload.filename, output_format: "wav" })
      expect(second).not.toHaveProperty("predefined_voice_id")

      expect(cloned.mimeType).toBe("audio/wav")
      expect(cloned.sampleRate).toBe(sampleRate)
      expect(cloned.duration).toBeGreaterThan(0.5)
      expect(cloned.origin).toEqual({ provider: "chatterbox", model: "Emily.wav", costUsd: 0 })
      // Emily speaks at 220 Hz; the clone at the recording's 330 Hz.
      expect(Math.abs(pitchOfAudio(plain) - 220)).toBeLessThan(5)
      expect(Math.abs(pitchOfAudio(cloned) - 330)).toBeLessThan(5)
    })
  )

  it.scoped("an MP3 recording is uploaded as .mp3 (audio/mpeg), whatever media type the asset claims", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const mp3 = Buffer.concat([Buffer.from("ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000", "latin1"), Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(400)])
      const audio = yield* model.transform(text("Hello."), { referenceAudio: new Audio({ source: fromBytes(mp3), mimeType: "audio/wav" }) })
      expect(emulator.state.uploads.map((u) => [u.contentType, /\.mp3$/.test(u.filename ?? "")])).toEqual([["audio/mpeg", true]])
      expect(Math.abs(pitchOfAudio(audio) - mp3Hz)).toBeLessThan(5)
    })
  )

  it.scoped("the same clip again (as bytes, or from another client) is not uploaded again; another clip is", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const path = recording("again.wav", 300)
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const first = yield* model.transform(text("One."), { referenceAudio: wavReference(fromFile(path)) })
      const second = yield* model.transform(text("Two."), { referenceAudio: wavReference(fromBytes(readFileSync(path))) })
      // A new provider (a new process) finds the clip on the server.
      const fresh = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const third = yield* fresh.transform(text("Three."), { referenceAudio: wavReference(fromFile(path)) })
      expect(emulator.count("/upload_reference")).toBe(1)
      expect(emulator.state.uploads).toHaveLength(1)
      for (const audio of [first, second, third]) expect(Math.abs(pitchOfAudio(audio) - 300)).toBeLessThan(5)
      const names = new Set(clonesOf(emulator).map((body) => body.reference_audio_filename))
      expect(names.size).toBe(1)

      const other = yield* model.transform(text("Four."), { referenceAudio: wavReference(fromFile(recording("other.wav", 440))) })
      expect(emulator.state.uploads).toHaveLength(2)
      expect(emulator.state.uploads[1]!.filename).not.toBe(emulator.state.uploads[0]!.filename)
      expect(Math.abs(pitchOfAudio(other) - 440)).toBeLessThan(5)
    })
  )

  it.scoped("a recording at an http(s) or data: URL is fetched, then named and uploaded like the file it is", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const clip = toneWav(370, 1)
      const host = yield* Faults.serve((_request, res) => {
        res.writeHead(200, { "content-type": "audio/wav" })
        res.end(clip)
      })
      const client = yield* clientAt(emulator)
      const fromHttp = yield* client.reference(fromUrl(`${host.url}/clip.wav`))
      const fromData = yield* client.reference(fromUrl(`data:audio/wav;base64,${clip.toString("base64")}`))
      const fromMemory = yield* client.reference(fromBytes(clip))
      expect(host.count("/clip.wav")).toBe(1)
      expect(new Set([fromHttp, fromData, fromMemory]).size).toBe(1)
      expect(emulator.state.uploads).toHaveLength(1)
      expect(emulator.state.uploads[0]!.bytes.equals(clip)).toBe(true)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "true"]]))))
  )

  it.scoped("concurrent clones of one clip share one upload", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const path = recording("together.wav", 280)
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const results = yield* Effect.all(
        [1, 2, 3].map((n) => model.transform(text(`Take ${n}.`), { referenceAudio: wavReference(fromFile(path)) })),
        { concurrency: "unbounded" }
      )
      expect(results).toHaveLength(3)
      expect(emulator.state.uploads).toHaveLength(1)
    })
  )

  it.scoped("a server that lost its recordings gets the clip again", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const path = recording("lost.wav", 350)
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      yield* model.transform(text("Before."), { referenceAudio: wavReference(fromFile(path)) })
      emulator.state.references.clear()
      const after = yield* model.transform(text("After."), { referenceAudio: wavReference(fromFile(path)) })
      expect(emulator.state.uploads).toHaveLength(2)
      expect(Math.abs(pitchOfAudio(after) - 350)).toBeLessThan(5)
    })
  )

  it.scoped("a reference that is not audio is InvalidInput naming referenceAudio, before any upload", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const notes = join(root, "notes.wav")
      writeFileSync(notes, "these are not sound samples, whatever the name says")
      for (const source of [fromBytes(tinyPng), fromFile(notes)]) {
        const error = yield* Effect.flip(model.transform(text("Hello."), { referenceAudio: wavReference(source) }))
        expect(error._tag).toBe("InvalidInput")
        if (error._tag !== "InvalidInput") continue
        expect(error.issues).toEqual(["referenceAudio: not a WAV or MP3 recording (Chatterbox TTS Server clones from .wav and .mp3 files only)"])
      }
      const missing = yield* Effect.flip(model.transform(text("Hello."), { referenceAudio: wavReference(fromFile(join(root, "absent.wav"))) }))
      expect(missing._tag).toBe("InvalidInput")
      expect(missing.message).toMatch(/referenceAudio: cannot read .*absent\.wav/)
      expect(emulator.count("/upload_reference")).toBe(0)
      expect(emulator.count("/tts")).toBe(0)
    })
  )

  it.scoped("why the check is the client's: the server keeps any bytes under a .wav name, then fails synthesis with 500", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const client = yield* clientAt(emulator)
      const kept = yield* client.uploadReference({ source: fromBytes(tinyPng), filename: "picture.wav", contentType: "audio/wav" })
      expect(kept).toMatchObject({ uploaded_files: ["picture.wav"], errors: [] })
      const error = yield* Effect.flip(client.tts({ text: "Hello.", voice_mode: "clone", reference_audio_filename: "picture.wav" }, join(root, "x.wav")))
      expect(error._tag).toBe("ProviderUnavailable")
      expect(error.message).toMatch(/HTTP 500: TTS engine failed to synthesize audio for chunk 1\./)
    })
  )

  it.scoped("the server's refusals of an upload are InvalidInput with its reason for the file", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const client = yield* clientAt(emulator)
      const wrongType = yield* Effect.flip(client.uploadReference({ source: fromBytes(toneWav(200, 0.5)), filename: "voice.ogg", contentType: "audio/ogg" }))
      expect(wrongType._tag).toBe("InvalidInput")
      if (wrongType._tag === "InvalidInput") expect(wrongType.issues).toEqual(["files: Invalid file type. Only .wav and .mp3 are allowed."])
      expect(wrongType.message).toBe("chatterbox: HTTP 400: Processed 1 file(s). files: Invalid file type. Only .wav and .mp3 are allowed.")

      // Longer than the server's max_reference_duration_sec (30): refused, and tried again next time.
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const long = wavReference(fromFile(recording("long.wav", 200, 31, 8000)))
      for (const _ of [1, 2]) {
        const error = yield* Effect.flip(model.transform(text("Hello."), { referenceAudio: long }))
        expect(error._tag).toBe("InvalidInput")
        if (error._tag === "InvalidInput") expect(error.issues).toEqual(["referenceAudio: Reference audio duration (31.00s) exceeds maximum allowed (30s)."])
      }
      expect(emulator.count("/upload_reference")).toBe(3)
      expect(emulator.state.references.size).toBe(0)
    })
  )

  it.scoped("the server's error answers to synthesis are typed errors", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const client = yield* clientAt(emulator)
      const model = yield* Effect.flatMap(providerAt(emulator), (p) => p.textToSpeech())
      const out = join(root, "err.wav")

      const noName = yield* Effect.flip(client.tts({ text: "Hello.", voice_mode: "clone" }, out))
      expect(noName._tag).toBe("InvalidInput")
      expect(noName.message).toBe("chatterbox: HTTP 400: Missing 'reference_audio_filename' for 'clone' voice mode.")

      const unknown = yield* Effect.flip(client.tts({ text: "Hello.", voice_mode: "clone", reference_audio_filename: "nobody.wav" }, out))
      expect(unknown._tag).toBe("ModelNotFound")
      if (unknown._tag === "ModelNotFound") expect(unknown.model).toBe("nobody.wav")
      expect(unknown.message).toMatch(/HTTP 404: Reference audio file 'nobody.wav' not found\./)

      emulator.faults.inject(Faults.status(422, { detail: [{ type: "missing", loc: ["body", "text"], msg: "Field required", input: {} }] }), { route: "/tts" })
      const invalid = yield* Effect.flip(model.transform(text("Hello.")))
      expect(invalid._tag).toBe("InvalidInput")
      expect(invalid.message).toMatch(/HTTP 422: Field required/)

      emulator.state.modelLoaded = false
      const reference = wavReference(fromFile(recording("unloaded.wav", 250)))
      const unloaded = yield* Effect.flip(model.transform(text("Hello."), { referenceAudio: reference }))
      expect(unloaded._tag).toBe("ProviderUnavailable")
      expect(unloaded.message).toMatch(/HTTP 503: TTS engine model is not currently loaded or available\./)
      // The clip was stored before synthesis failed: once the model is back, it is not sent again.
      emulator.state.modelLoaded = true
      yield* model.transform(text("Hello."), { referenceAudio: reference })
      expect(emulator.state.uploads).toHaveLength(1)
    })
  )

  it.scoped("the client lists the server's reference recordings", () =>
    Effect.gen(function* () {
      const emulator = yield* chatterbox()
      const client = yield* clientAt(emulator)
      expect(yield* client.referenceFiles).toEqual([])
      const name = yield* client.reference(fromFile(recording("listed.wav", 210)))
      expect(yield* client.referenceFiles).toEqual([name])
    })
  )
})
