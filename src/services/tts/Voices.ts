/**
 * The voices of the TTS service: flite's voices, presented as Chatterbox "predefined voices"
 * (a display name and a file name, e.g. `slt.wav`), and how a requested voice id is resolved.
 *
 * Resolution, case-insensitive: a voice's file name (`slt.wav`), its bare id (`slt`), or an
 * alias. Aliases let clients written for the real services work unchanged: the spec's example
 * voices `Emily.wav` and `Gianna.wav` and OpenAI's `alloy`, `nova`, `shimmer` speak with `slt`
 * (female); `echo` and `onyx` with `rms` (male); `fable` with `awb` (Scottish male). Aliases are
 * accepted, not listed. Anything else (including paths such as `../x.wav`) is unknown: voice ids
 * are looked up in this table and never touch the file system.
 *
 * flite's limited-domain voices (`awb_time`, which can only say the time) are left out.
 *
 * @module
 */

/** One flite voice. */
export interface FliteVoice {
  /** flite's name, passed to `flite -voice`. */
  readonly id: string
  /** Chatterbox-style file name, `<id>.wav`. */
  readonly filename: string
  readonly displayName: string
  readonly description: string
}

const descriptions: Readonly<Record<string, string>> = {
  slt: "US English, female",
  rms: "US English, male",
  awb: "Scottish English, male",
  kal16: "US English, male, diphone",
  kal: "US English, male, diphone, 8 kHz"
}

/** The order voices are listed in: best recognised first (slt is the default). */
const preferred = ["slt", "rms", "awb", "kal16", "kal"]

/** Aliases of voices (lower case, without extension) and the flite voice they speak with. */
export const voiceAliases: Readonly<Record<string, string>> = {
  emily: "slt",
  gianna: "slt",
  alloy: "slt",
  nova: "slt",
  shimmer: "slt",
  echo: "rms",
  onyx: "rms",
  fable: "awb"
}

/** The voice names in `flite -lv` output (`Voices available: kal awb_time kal16 awb rms slt`). */
export const parseVoiceList = (output: string): ReadonlyArray<string> => {
  const line = output.split(/\r?\n/).find((l) => /voices available/i.test(l)) ?? ""
  return line
    .replace(/^.*voices available:?/i, "")
    .split(/\s+/)
    .filter((name) => /^[A-Za-z0-9_]+$/.test(name))
}

/** The usable voices among flite's names, preferred ones first, limited-domain ones dropped. */
export const voicesFrom = (names: ReadonlyArray<string>): ReadonlyArray<FliteVoice> => {
  const usable = names.filter((name) => !/_time$/.test(name))
  const rank = (name: string) => {
    const index = preferred.indexOf(name)
    return index === -1 ? preferred.length : index
  }
  return [...new Set(usable)]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((id) => {
      const description = descriptions[id] ?? "English"
      return { id, filename: `${id}.wav`, displayName: `${id} (${description})`, description }
    })
}

/** The voice a requested id names, or undefined. */
export const resolveVoice = (voices: ReadonlyArray<FliteVoice>, requested: string): FliteVoice | undefined => {
  const key = requested.trim().toLowerCase().replace(/\.(wav|mp3)$/, "")
  const direct = voices.find((voice) => voice.id.toLowerCase() === key)
  if (direct !== undefined) return direct
  const alias = voiceAliases[key]
  return alias === undefined ? undefined : voices.find((voice) => voice.id === alias)
}
