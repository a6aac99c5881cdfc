/**
 * Transcripts as whisper-asr-webservice writes them, from the words a recogniser heard: pure
 * functions, used by the STT service (which renders each `/asr` answer with them); the Whisper
 * provider shares the list of output formats.
 *
 * - `parsePocketsphinx` reads `pocketsphinx_continuous -time yes` output (a hypothesis line per
 *   utterance, then `word start end posterior` lines) into timed tokens;
 * - `parseSilences` reads the pauses ffmpeg's `silencedetect` filter reports;
 * - `segmentWords` groups words into sentence-like segments, cut at pauses (silences in the
 *   audio between two words, the recogniser's `<sil>` tokens, utterance ends, gaps between word
 *   timings) and at a maximum length;
 * - `render` writes `txt`, `json`, `srt`, `vtt` or `tsv` exactly as whisper's writers do: the
 *   JSON here, the others with the one renderer of `media/Subtitles.ts`.
 *
 * @module
 */
import { renderSrt, renderTsv, renderTxt, renderVtt } from "../../media/Subtitles.js"

/** A recognised token with its time span in seconds (fillers included: `<s>`, `<sil>`, `[NOISE]`...). */
export interface Token {
  readonly token: string
  readonly start: number
  readonly end: number
  /** The recogniser's posterior probability, 0..1. */
  readonly probability: number
  /** Which utterance (pocketsphinx's silence-separated chunk) it belongs to. */
  readonly utterance: number
}

/** A word with its time span in seconds (whisper's `words` entries). */
export interface TimedWord {
  readonly word: string
  readonly start: number
  readonly end: number
  readonly probability: number
}

/** One timed segment of a transcript. */
export interface Segment {
  readonly id: number
  readonly start: number
  readonly end: number
  /** The words separated by spaces, with a leading space as whisper writes it. */
  readonly text: string
  readonly words: ReadonlyArray<TimedWord>
}

/** A whole transcript. */
export interface Transcript {
  readonly text: string
  readonly segments: ReadonlyArray<Segment>
  readonly language: string
}

/** The output formats of `/asr`. */
export const TranscriptFormats = ["txt", "vtt", "srt", "tsv", "json"] as const
/** An output format of `/asr`. */
export type TranscriptFormat = (typeof TranscriptFormats)[number]

const wordLine = /^(\S+)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?(?:e-?\d+)?)$/i

/**
 * Tokens from `pocketsphinx_continuous -time yes` standard output. Lines that are not
 * `token start end probability` (the hypothesis lines) are skipped; `<s>` opens an utterance.
 */
export const parsePocketsphinx = (stdout: string): ReadonlyArray<Token> => {
  const tokens: Array<Token> = []
  let utterance = -1
  for (const raw of stdout.split(/\r?\n/)) {
    const match = wordLine.exec(raw.trim())
    if (match === null) continue
    const [, token = "", start = "0", end = "0", probability = "0"] = match
    if (token === "<s>" || utterance < 0) utterance += 1
    tokens.push({ token, start: Number(start), end: Number(end), probability: Number(probability), utterance })
  }
  return tokens
}

const filler = /^(<.*>|\[.*\]|\+\+.*\+\+)$/

/** Whether a token is a filler (silence, noise, utterance marks) rather than a word. */
export const isFiller = (token: string): boolean => filler.test(token)

/** A dictionary entry without its pronunciation variant: `the(2)` is `the`. */
export const wordOf = (token: string): string => token.replace(/\(\d+\)$/, "")

/** A stretch of silence in the audio, in seconds. */
export interface Silence {
  readonly start: number
  readonly end: number
}

/**
 * The silences in ffmpeg's `silencedetect` log (`silence_start: 2.776` ... `silence_end: 2.897`);
 * a silence still open at the end of the log ends at `duration`.
 */
export const parseSilences = (log: string, duration: number): ReadonlyArray<Silence> => {
  const silences: Array<Silence> = []
  let open: number | undefined
  for (const match of log.matchAll(/silence_(start|end): (-?\d+(?:\.\d+)?)/g)) {
    const at = Number(match[2])
    if (match[1] === "start") open = Math.max(0, at)
    else if (open !== undefined) {
      silences.push({ start: open, end: at })
      open = undefined
    }
  }
  if (open !== undefined) silences.push({ start: open, end: duration })
  return silences
}

/** How words are grouped into segments. */
export interface SegmentOptions {
  /** A gap between words at least this long (seconds) ends a segment. Default 0.3. */
  readonly maxGap: number
  /** A segment is cut once it is this long (seconds). Default 12. */
  readonly maxDuration: number
  /** A segment is cut once it has this many words. Default 30. */
  readonly maxWords: number
  /** How far (seconds) a silence may miss the boundary between two words and still cut there. Default 0.05. */
  readonly tolerance: number
}

const defaultSegmentOptions: SegmentOptions = { maxGap: 0.3, maxDuration: 12, maxWords: 30, tolerance: 0.05 }

const round3 = (n: number): number => Math.round(n * 1000) / 1000

/**
 * Group tokens into sentence-like segments: a segment ends where a silence of the audio falls
 * between two words (the recogniser often stretches the words over a short sentence pause, so
 * the audio's own silences are the better signal), at a `<sil>` token, at the end of an
 * utterance, at a gap of `maxGap` between word timings, or when it reaches `maxDuration` or
 * `maxWords`. Times are clamped to `[0, duration]` when the audio's duration is given.
 */
export const segmentWords = (
  tokens: ReadonlyArray<Token>,
  duration?: number,
  options: Partial<SegmentOptions> = {},
  silences: ReadonlyArray<Silence> = []
): ReadonlyArray<Segment> => {
  const o = { ...defaultSegmentOptions, ...options }
  const clamp = (t: number) => round3(Math.max(0, duration === undefined ? t : Math.min(t, duration)))
  const segments: Array<Segment> = []
  let current: Array<TimedWord> = []
  let currentUtterance = -1
  const close = () => {
    if (current.length === 0) return
    const start = current[0]!.start
    const end = Math.max(start, current[current.length - 1]!.end)
    segments.push({
      id: segments.length,
      start,
      end,
      text: ` ${current.map((w) => w.word).join(" ")}`,
      words: current
    })
    current = []
  }
  for (const token of tokens) {
    if (token.utterance !== currentUtterance) {
      close()
      currentUtterance = token.utterance
    }
    if (isFiller(token.token)) {
      if (token.token === "<sil>" || token.token === "</s>") close()
      continue
    }
    const word: TimedWord = {
      word: wordOf(token.token),
      start: clamp(token.start),
      end: clamp(token.end),
      probability: round3(token.probability)
    }
    const previous = current[current.length - 1]
    const pauseBetween = (before: TimedWord, after: TimedWord) =>
      silences.some((s) => s.start <= after.start + o.tolerance && s.end >= before.end - o.tolerance && s.end > before.start && s.start < after.end)
    if (
      previous !== undefined &&
      (word.start - previous.end >= o.maxGap ||
        pauseBetween(previous, word) ||
        word.end - current[0]!.start > o.maxDuration ||
        current.length >= o.maxWords)
    ) {
      close()
    }
    current.push(word)
  }
  close()
  return segments
}

/** A transcript from segments: whisper's `text` is its segments' texts joined. */
export const transcriptOf = (segments: ReadonlyArray<Segment>, language = "en"): Transcript => ({
  text: segments.map((s) => s.text).join(""),
  segments,
  language
})

const meanLogProbability = (words: ReadonlyArray<TimedWord>): number =>
  words.length === 0
    ? 0
    : round3(words.reduce((sum, w) => sum + Math.log(Math.max(w.probability, 1e-6)), 0) / words.length)

/**
 * whisper's JSON result: `{text, segments: [{id, seek, start, end, text, tokens, temperature,
 * avg_logprob, words?}], language}`. `avg_logprob` is the mean log posterior of the segment's
 * words; `tokens` is empty (pocketsphinx has no BPE tokens); `words` only with word timestamps.
 */
export const renderJson = (transcript: Transcript, wordTimestamps: boolean): string =>
  JSON.stringify({
    text: transcript.text,
    segments: transcript.segments.map((s) => ({
      id: s.id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: [],
      temperature: 0,
      avg_logprob: meanLogProbability(s.words),
      ...(wordTimestamps ? { words: s.words.map((w) => ({ word: ` ${w.word}`, start: w.start, end: w.end, probability: w.probability })) } : {})
    })),
    language: transcript.language
  })

/** A transcript in one of `/asr`'s output formats. */
export const render = (transcript: Transcript, format: TranscriptFormat, options: { readonly wordTimestamps?: boolean } = {}): string => {
  switch (format) {
    case "txt":
      return renderTxt(transcript.segments)
    case "srt":
      return renderSrt(transcript.segments)
    case "vtt":
      return renderVtt(transcript.segments)
    case "tsv":
      return renderTsv(transcript.segments)
    case "json":
      return renderJson(transcript, options.wordTimestamps ?? false)
  }
}
