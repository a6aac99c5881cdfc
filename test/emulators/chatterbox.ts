/**
 * An emulator of Chatterbox TTS Server on 127.0.0.1, for what our own TTS service cannot show:
 * voice cloning. Its contract is devnen/Chatterbox-TTS-Server at commit
 * 68213e75c248f4f4bbd185f7c20ec02722fdc79b (2026-04-02; server.py, utils.py, models.py), the
 * server `ChatterboxClient` targets; facts only, no code carried over:
 *
 * - `GET /get_predefined_voices`: `[{display_name, filename}]`; `GET /get_reference_files`: the
 *   sorted names of the stored recordings (`.wav`, `.mp3`, not starting with a dot).
 * - `POST /upload_reference`, multipart, field `files` (one or more; none: FastAPI's 422). Each
 *   file: no name is an error `{filename: "Unknown", error: "File received with no filename."}`;
 *   the name is sanitized (base name; letters, digits, `._-` kept, spaces to `_`, other runs to
 *   one `_`, `_` trimmed); a name not ending in `.wav`/`.mp3` is an error under the name as sent
 *   ("Invalid file type. Only .wav and .mp3 are allowed."); a name already stored is answered as
 *   uploaded and its new bytes are dropped; otherwise the file is stored, then measured: longer
 *   than `max_reference_duration_sec` (30) or of no length, it is deleted again and reported; a
 *   file that cannot be measured (not audio at all) is kept: the type check is by name only.
 *   The answer is `{message: "Processed N file(s).", uploaded_files, all_reference_files,
 *   errors: [{filename, error}]}`, HTTP 200 unless there were errors and no file was kept (400).
 *   No size limit on the body.
 * - `POST /tts` (JSON, `CustomTTSRequest`; pydantic's 422 `{"detail": [{type, loc, msg, input}]}`
 *   for a missing or empty `text`, an unknown `voice_mode` or `output_format`): 503 when the
 *   model is not loaded; `voice_mode` `predefined` (the default) needs `predefined_voice_id` (400
 *   "Missing 'predefined_voice_id' for 'predefined' voice mode.", 404 "Predefined voice file 'X'
 *   not found."); `clone` needs `reference_audio_filename` (400 "Missing
 *   'reference_audio_filename' for 'clone' voice mode.", 404 "Reference audio file 'X' not
 *   found.", 400 "Invalid reference audio: ..." when it is now too long). An engine that cannot
 *   read the recording answers 500 "TTS engine failed to synthesize audio for chunk 1.". Success:
 *   `audio/<format>` with `Content-Disposition: attachment; filename="tts_output_....<format>"`.
 * - `POST /v1/audio/speech` (OpenAI-style): `voice` is a file name, looked up among the voices,
 *   then among the reference recordings (404 "Voice file 'X' not found."), 503 when not loaded.
 * - Errors are FastAPI's `{"detail": "..."}`.
 *
 * What stands in for the model: the answer is a 24 kHz mono WAV sine tone, 60 ms a character
 * (divided by `speed_factor`), at the pitch of the voice: a predefined voice's own pitch, or the
 * pitch of the cloned recording (measured from its samples; an MP3, not decoded, at `mp3Hz`), so
 * a test can hear which voice spoke. Only `wav` is encoded (other formats: 501, the emulator's own answer). Every request is
 * recorded, the parts of each upload too, and the faults of `Faults.ts` can be armed.
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as http from "node:http"
import { type EmulatorServer, json, type RecordedRequest, serve, type ServeOptions } from "./Faults.js"
import { pitchOf, toneWav } from "./Samples.js"

/** One part of a multipart body as the emulator received it. */
export interface ReceivedPart {
  readonly field: string
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly bytes: Buffer
}

/** A predefined voice, with the pitch the emulator speaks it at. */
export interface EmulatedVoice {
  readonly display_name: string
  readonly filename: string
  readonly hz: number
}

/** What a test can read or change while the emulator runs. */
export interface ChatterboxState {
  voices: ReadonlyArray<EmulatedVoice>
  /** The stored reference recordings, by (sanitized) name. */
  readonly references: Map<string, Buffer>
  /** Whether the model is loaded (else 503 on synthesis). */
  modelLoaded: boolean
  /** `audio_output.max_reference_duration_sec`. */
  maxReferenceSeconds: number
  /** Every file part of every `POST /upload_reference`, in arrival order. */
  readonly uploads: Array<ReceivedPart>
}

/** A running Chatterbox emulator. */
export interface ChatterboxEmulator extends EmulatorServer {
  readonly state: ChatterboxState
}

/** The engine's output rate (`audio_output.sample_rate` defaults to 24000). */
export const sampleRate = 24000

const defaultVoices: ReadonlyArray<EmulatedVoice> = [
  { display_name: "Emily", filename: "Emily.wav", hz: 220 },
  { display_name: "Gianna", filename: "Gianna.wav", hz: 260 }
]

/** The parts of a `multipart/form-data` body; empty when it is not one. */
export const parseMultipart = (body: Buffer, contentType: string | undefined): ReadonlyArray<ReceivedPart> => {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? "")?.[1]
  if (boundary === undefined) return []
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Array<ReceivedPart> = []
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    const start = at + delimiter.length
    if (body.subarray(start, start + 2).toString() === "--") break
    const next = body.indexOf(delimiter, start)
    if (next === -1) break
    const part = body.subarray(start + 2, next - 2) // after the CRLF, before the CRLF that ends it
    const split = part.indexOf("\r\n\r\n")
    const head = part.subarray(0, split).toString("utf8")
    const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? ""
    parts.push({
      field: /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? "",
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: /content-type:\s*([^\r\n]*)/i.exec(head)?.[1],
      bytes: Buffer.from(part.subarray(split + 4))
    })
    at = next
  }
  return parts
}

/** The server's file name sanitizing, as its utils.py describes it (the length cap left out). */
export const sanitizeFilename = (name: string): string => {
  const base = (name.split(/[\\/]/).pop() ?? "").trim()
  let out = ""
  let lastUnderscore = false
  for (const char of base) {
    if (/[A-Za-z0-9._\- ]/.test(char)) {
      out += char === " " ? "_" : char
      lastUnderscore = char === " "
    } else if (!lastUnderscore) {
      out += "_"
      lastUnderscore = true
    }
  }
  return out.replace(/^_+|_+$/g, "")
}

/** Seconds of sound of a WAV, or undefined when it cannot be measured (the server then skips the check). */
const durationOf = (bytes: Buffer): number | undefined => {
  if (bytes.length < 12 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") return undefined
  let offset = 12
  let byteRate: number | undefined
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString("ascii", offset, offset + 4)
    const size = bytes.readUInt32LE(offset + 4)
    if (id === "fmt ") byteRate = bytes.readUInt32LE(offset + 16)
    if (id === "data") return byteRate === undefined || byteRate === 0 ? undefined : Math.min(size, bytes.length - offset - 8) / byteRate
    offset += 8 + size + (size % 2)
  }
  return undefined
}

/** MP3 is not decoded here: a recording that starts like one is spoken at this pitch. */
export const mp3Hz = 180

const looksLikeMp3 = (bytes: Buffer) =>
  bytes.toString("latin1", 0, 3) === "ID3" || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)

const isAudioName = (name: string) => /\.(wav|mp3)$/i.test(name)

/** Why a stored recording is refused for cloning, or undefined (the server's `validate_reference_audio`). */
const referenceProblem = (name: string, bytes: Buffer, maxSeconds: number): string | undefined => {
  const seconds = durationOf(bytes)
  if (seconds === undefined) return undefined
  if (seconds <= 0) return `Reference audio file '${name}' has zero or negative duration.`
  if (seconds > maxSeconds) return `Reference audio duration (${seconds.toFixed(2)}s) exceeds maximum allowed (${maxSeconds}s).`
  return undefined
}

const detail = (res: http.ServerResponse, code: number, message: string) => json(res, code, { detail: message })

const validation = (res: http.ServerResponse, errors: ReadonlyArray<{ type: string; loc: ReadonlyArray<string>; msg: string; input: unknown }>) =>
  json(res, 422, { detail: errors })

const record = (value: unknown): Readonly<Record<string, unknown>> => (Predicate.isRecord(value) ? value : {})

/** Start the emulator; stopped with the scope. */
export const chatterbox = (initial: Partial<Pick<ChatterboxState, "voices" | "modelLoaded" | "maxReferenceSeconds">> = {}, options: ServeOptions = {}) =>
  Effect.gen(function* () {
    const state: ChatterboxState = {
      voices: defaultVoices,
      references: new Map(),
      modelLoaded: true,
      maxReferenceSeconds: 30,
      uploads: [],
      ...initial
    }
    const referenceNames = () => [...state.references.keys()].filter((name) => isAudioName(name) && !name.startsWith(".")).sort()

    const speak = (res: http.ServerResponse, text: string, speed: number, prompt: Buffer | number, format: string) => {
      if (format !== "wav") return detail(res, 501, `emulator: only wav is encoded, not ${format}`)
      // The "engine" reads the recording; bytes that are not audio make it fail, as the real one does.
      const hz = typeof prompt === "number" ? prompt : (pitchOf(prompt) ?? (looksLikeMp3(prompt) ? mp3Hz : undefined))
      if (hz === undefined) return detail(res, 500, "TTS engine failed to synthesize audio for chunk 1.")
      const seconds = Math.max(0.3, (0.06 * text.length) / speed)
      res.writeHead(200, { "content-type": "audio/wav", "content-disposition": 'attachment; filename="tts_output_T08_E05_W05_20260402_000000.wav"' })
      res.end(toneWav(hz, seconds, sampleRate))
    }

    const upload = (request: RecordedRequest, res: http.ServerResponse) => {
      const files = parseMultipart(request.body, request.headers["content-type"]).filter((part) => part.field === "files")
      if (files.length === 0) return validation(res, [{ type: "missing", loc: ["body", "files"], msg: "Field required", input: null }])
      const uploaded: Array<string> = []
      const errors: Array<{ filename: string; error: string }> = []
      for (const file of files) {
        state.uploads.push(file)
        if (file.filename === undefined || file.filename === "") {
          errors.push({ filename: "Unknown", error: "File received with no filename." })
          continue
        }
        const name = sanitizeFilename(file.filename)
        if (!isAudioName(name)) {
          errors.push({ filename: file.filename, error: "Invalid file type. Only .wav and .mp3 are allowed." })
          continue
        }
        if (state.references.has(name)) {
          if (!uploaded.includes(name)) uploaded.push(name)
          continue
        }
        const problem = referenceProblem(name, file.bytes, state.maxReferenceSeconds)
        if (problem !== undefined) errors.push({ filename: name, error: problem })
        else {
          state.references.set(name, file.bytes)
          uploaded.push(name)
        }
      }
      const code = errors.length > 0 && uploaded.length === 0 ? 400 : 200
      json(res, code, { message: `Processed ${files.length} file(s).`, uploaded_files: uploaded, all_reference_files: referenceNames(), errors })
    }

    const tts = (request: RecordedRequest, res: http.ServerResponse) => {
      const body = record(request.json)
      const text = body.text
      const mode = body.voice_mode ?? "predefined"
      const format = body.output_format ?? "wav"
      if (typeof text !== "string" || text === "") {
        return validation(res, [
          typeof text === "string"
            ? { type: "string_too_short", loc: ["body", "text"], msg: "String should have at least 1 character", input: text }
            : { type: "missing", loc: ["body", "text"], msg: "Field required", input: body }
        ])
      }
      if (mode !== "predefined" && mode !== "clone") {
        return validation(res, [{ type: "literal_error", loc: ["body", "voice_mode"], msg: "Input should be 'predefined' or 'clone'", input: mode }])
      }
      if (format !== "wav" && format !== "opus" && format !== "mp3") {
        return validation(res, [{ type: "literal_error", loc: ["body", "output_format"], msg: "Input should be 'wav', 'opus' or 'mp3'", input: format }])
      }
      if (!state.modelLoaded) return detail(res, 503, "TTS engine model is not currently loaded or available.")
      const speed = typeof body.speed_factor === "number" && body.speed_factor > 0 ? body.speed_factor : 1
      if (mode === "predefined") {
        const id = body.predefined_voice_id
        if (typeof id !== "string" || id === "") return detail(res, 400, "Missing 'predefined_voice_id' for 'predefined' voice mode.")
        const voice = state.voices.find((v) => v.filename === id)
        if (voice === undefined) return detail(res, 404, `Predefined voice file '${id}' not found.`)
        return speak(res, text, speed, voice.hz, format)
      }
      const name = body.reference_audio_filename
      if (typeof name !== "string" || name === "") return detail(res, 400, "Missing 'reference_audio_filename' for 'clone' voice mode.")
      const stored = state.references.get(name)
      if (stored === undefined) return detail(res, 404, `Reference audio file '${name}' not found.`)
      const problem = referenceProblem(name, stored, state.maxReferenceSeconds)
      if (problem !== undefined) return detail(res, 400, `Invalid reference audio: ${problem}`)
      return speak(res, text, speed, stored, format)
    }

    const speech = (request: RecordedRequest, res: http.ServerResponse) => {
      const body = record(request.json)
      const missing = (["model", "input", "voice"] as const).filter((key) => typeof body[key] !== "string")
      if (missing.length > 0) return validation(res, missing.map((key) => ({ type: "missing", loc: ["body", key], msg: "Field required", input: body })))
      const voiceName = String(body.voice)
      const voice = state.voices.find((v) => v.filename === voiceName)
      const stored = state.references.get(voiceName)
      if (voice === undefined && stored === undefined) return detail(res, 404, `Voice file '${voiceName}' not found.`)
      if (!state.modelLoaded) return detail(res, 503, "TTS engine model is not currently loaded or available.")
      const speed = typeof body.speed === "number" && body.speed > 0 ? body.speed : 1
      const format = typeof body.response_format === "string" ? body.response_format : "wav"
      return speak(res, String(body.input), speed, voice?.hz ?? stored ?? 0, format)
    }

    const server = yield* serve((request, res) => {
      const route = `${request.method} ${request.path.split("?")[0] ?? ""}`
      switch (route) {
        case "GET /get_predefined_voices":
          return json(res, 200, state.voices.map(({ display_name, filename }) => ({ display_name, filename })))
        case "GET /get_reference_files":
          return json(res, 200, referenceNames())
        case "POST /upload_reference":
          return upload(request, res)
        case "POST /tts":
          return tts(request, res)
        case "POST /v1/audio/speech":
          return speech(request, res)
        default:
          return detail(res, 404, "Not Found")
      }
    }, options)
    return { ...server, state } satisfies ChatterboxEmulator
  })
