/**
 * A known text timed by a recogniser: when the words that were said are known (a script that was
 * narrated), the recogniser's guesses are only good for their times. `align` pairs the text's
 * words with the recognised words (a word-level edit-distance alignment in which similar words
 * may stand for each other), gives each paired word the recogniser's time and each unpaired one
 * a time shared out between its timed neighbours, so that subtitles show the text's own words
 * (spelling and punctuation kept) at the moments they are heard.
 *
 * - `align` times one text within one window of the audio;
 * - `alignSpans` times several texts, each within its own window (a scene's narration): each
 *   recognised word counts for the window it falls in, so a recogniser that drifts cannot pull
 *   a word into another window;
 * - `alignedCues` groups timed words into subtitle cues that never cross a window;
 * - `wordsOfSegments` gives the timed words of transcript segments (the recogniser's own, or
 *   shared out over each segment when it timed none);
 * - `normalise` and `textWords` are how words are compared and cut.
 *
 * Every result is monotonic and free of overlaps: a word starts no earlier than the previous one
 * ends, and every time lies inside its window.
 *
 * @module
 */
import type { TextSegment, TimedWord } from "../domain/Asset.js"

export type { TimedWord } from "../domain/Asset.js"

/** A known text and the window of the audio in which it is said, in seconds. */
export interface Span {
  readonly start: number
  readonly end: number
  readonly text: string
}

/** How a word of the text got its time. */
export type Timing =
  /** Paired with the same recognised word. */
  | "matched"
  /** Paired with a different but similar recognised word (what the recogniser guessed for it). */
  | "substituted"
  /** Not paired: timed between its neighbours. */
  | "interpolated"

/** A word of the known text as written (punctuation and case kept), with its time in seconds. */
export interface AlignedWord extends TimedWord {
  /** Which span (window) the word belongs to: its index in `alignSpans`' spans, 0 for `align`. */
  readonly span: number
  readonly timing: Timing
  /** The recognised word it was paired with, if any. */
  readonly heard?: string
}

/** How `align` and `alignSpans` work. */
export interface AlignOptions {
  /**
   * Seconds a character of speech takes when the recognised words give no better estimate
   * (the estimate is taken from the paired words). Default 0.07.
   */
  readonly secondsPerChar?: number
}

/** How `alignedCues` groups words. */
export interface CueOptions {
  /** The longest cue, in characters. Default 42 (what `Subtitles.cues` uses). */
  readonly maxChars?: number
  /** A pause between two words at least this long (seconds) starts a new cue. Default 1. */
  readonly maxGap?: number
}

const fillerWord = /^(<.*>|\[.*\]|\+\+.*\+\+)$/

/**
 * A word as it is compared: lower case, a recogniser's pronunciation variant dropped (`the(2)`),
 * only letters, digits and apostrophes kept (so `Door,` and `door` are the same word).
 */
export const normalise = (word: string): string =>
  word
    .toLowerCase()
    .replace(/\(\d+\)$/, "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\p{L}\p{N}']/gu, "")
    .replace(/^'+|'+$/g, "")

/**
 * The words of a text as written, cut at white space. A piece with nothing to compare (a dash,
 * an ellipsis) is kept with the word before it (or after it, at the start), so that no
 * character of the text is lost and every word can be matched.
 */
export const textWords = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let pending = ""
  for (const piece of text.split(/\s+/)) {
    if (piece === "") continue
    if (normalise(piece) === "") {
      if (out.length > 0) out[out.length - 1] = `${out[out.length - 1]} ${piece}`
      else pending = pending === "" ? piece : `${pending} ${piece}`
      continue
    }
    out.push(pending === "" ? piece : `${pending} ${piece}`)
    pending = ""
  }
  // A text of punctuation only is still shown.
  if (out.length === 0 && pending !== "") out.push(pending)
  return out
}

/**
 * The timed words of transcript segments: the recogniser's own where the segment has them
 * (fillers such as `<sil>` left out), else the segment's words sharing its time in proportion
 * to their characters.
 */
export const wordsOfSegments = (segments: ReadonlyArray<TextSegment>): ReadonlyArray<TimedWord> =>
  segments.flatMap((segment) => {
    if (segment.words !== undefined) {
      return segment.words.flatMap((w) => {
        const word = w.word.trim()
        return word === "" || fillerWord.test(word) ? [] : [{ word, start: w.start, end: Math.max(w.start, w.end) }]
      })
    }
    const words = segment.text.split(/\s+/).filter((w) => w !== "")
    return spread(words, segment.start, Math.max(segment.start, segment.end))
  })

// Words laid end to end over [from, to], each as long as its share of the characters (a space
// counted with each word, so one-letter words are not squeezed to nothing).
const spread = (words: ReadonlyArray<string>, from: number, to: number): Array<TimedWord> => {
  const total = words.reduce((sum, w) => sum + weight(w), 0)
  const span = Math.max(0, to - from)
  let at = from
  return words.map((word, i) => {
    const end = i === words.length - 1 ? to : at + (span * weight(word)) / total
    const timed = { word, start: at, end: Math.max(at, end) }
    at = timed.end
    return timed
  })
}

const weight = (word: string): number => Math.max(1, normalise(word).length) + 1

/** Characters-level edit distance of two short strings. */
const charDistance = (a: string, b: string): number => {
  if (a === b) return 0
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    }
    previous = current
  }
  return previous[b.length]!
}

// Leaving out a word on either side costs 1; pairing two words costs 0 when they are the same and
// up to 2 as they differ: pairing words with nothing in common is never cheaper than leaving both
// out, so a pair means the recogniser heard something like the word there.
const gapCost = 1
const pairCost = (a: string, b: string): number =>
  a === b ? 0 : (2 * charDistance(a, b)) / Math.max(a.length, b.length, 1)

// Where in the window a pair puts a word, against where the text's length says it should be
// (its characters before it, at an even pace): at most this much more. Small, it only decides
// between pairings that cost the same otherwise (which of two "no"s a heard "no" is).
const driftCost = 0.5

const DIAGONAL = 1
const UP = 2 // a word of the text left out
const LEFT = 3 // a recognised word left out

/**
 * For each text word, the index of the recognised word paired with it (or -1): a minimum-cost
 * alignment (Needleman-Wunsch) kept as one byte a cell for the way back and two rows of costs,
 * so memory is `(n+1)(m+1)` bytes. `expected[i]` and `middle[j]` are the words' places in the
 * window, 0..1.
 */
const pairs = (
  text: ReadonlyArray<string>,
  heard: ReadonlyArray<string>,
  expected: ReadonlyArray<number>,
  middle: ReadonlyArray<number>
): Int32Array => {
  const n = text.length
  const m = heard.length
  // A long text repeats its words: each pair of distinct words is compared once.
  const ids = (words: ReadonlyArray<string>) => {
    const known = new Map<string, number>()
    return { list: words.map((w) => known.get(w) ?? (known.set(w, known.size), known.size - 1)), distinct: [...known.keys()] }
  }
  const t = ids(text)
  const h = ids(heard)
  const costs = new Float64Array(t.distinct.length * h.distinct.length).fill(-1)
  const cost = (i: number, j: number) => {
    const at = t.list[i]! * h.distinct.length + h.list[j]!
    if (costs[at]! < 0) costs[at] = pairCost(t.distinct[t.list[i]!]!, h.distinct[h.list[j]!]!)
    return costs[at]!
  }
  const way = new Uint8Array((n + 1) * (m + 1))
  let previous = new Float64Array(m + 1)
  let current = new Float64Array(m + 1)
  for (let j = 1; j <= m; j++) {
    previous[j] = j * gapCost
    way[j] = LEFT
  }
  for (let i = 1; i <= n; i++) {
    current[0] = i * gapCost
    way[i * (m + 1)] = UP
    for (let j = 1; j <= m; j++) {
      const diagonal =
        previous[j - 1]! + cost(i - 1, j - 1) + driftCost * Math.min(1, Math.abs(expected[i - 1]! - middle[j - 1]!))
      const up = previous[j]! + gapCost
      const left = current[j - 1]! + gapCost
      // Ties go to leaving words out rather than pairing dissimilar ones.
      if (diagonal < up && diagonal < left) {
        current[j] = diagonal
        way[i * (m + 1) + j] = DIAGONAL
      } else if (up <= left) {
        current[j] = up
        way[i * (m + 1) + j] = UP
      } else {
        current[j] = left
        way[i * (m + 1) + j] = LEFT
      }
    }
    ;[previous, current] = [current, previous]
  }
  const paired = new Int32Array(n).fill(-1)
  let i = n
  let j = m
  while (i > 0 || j > 0) {
    const step = way[i * (m + 1) + j]
    if (step === DIAGONAL) {
      paired[i - 1] = j - 1
      i -= 1
      j -= 1
    } else if (step === UP) i -= 1
    else j -= 1
  }
  return paired
}

interface Slot {
  word: string
  start: number
  end: number
  fixed: boolean
  timing: Timing
  heard?: string
}

/** Time the words of one window: pair, keep the recogniser's times, share out the rest. */
const alignWindow = (
  written: ReadonlyArray<string>,
  heard: ReadonlyArray<TimedWord>,
  from: number,
  to: number,
  secondsPerChar: number
): Array<Slot> => {
  const windowEnd = Math.max(from, to)
  const clamp = (t: number) => Math.min(windowEnd, Math.max(from, t))
  const keys = written.map(normalise)
  const length = windowEnd - from
  const place = (t: number) => (length > 0 ? (t - from) / length : 0)
  const total = written.reduce((sum, w) => sum + weight(w), 0)
  let before = 0
  const expected = written.map((w) => {
    const at = (before + weight(w) / 2) / total
    before += weight(w)
    return at
  })
  const paired = pairs(
    keys,
    heard.map((w) => normalise(w.word)),
    expected,
    heard.map((w) => place((w.start + Math.max(w.start, w.end)) / 2))
  )
  const slots: Array<Slot> = written.map((word, i) => {
    const j = paired[i]!
    const h = j >= 0 ? heard[j] : undefined
    return h === undefined
      ? { word, start: from, end: from, fixed: false, timing: "interpolated" }
      : {
          word,
          start: clamp(h.start),
          end: clamp(Math.max(h.start, h.end)),
          fixed: true,
          timing: normalise(h.word) === keys[i] ? "matched" : "substituted",
          heard: h.word
        }
  })
  // The recogniser's times may overlap or go back: each paired word starts where the last ended.
  let last = from
  for (const slot of slots) {
    if (!slot.fixed) continue
    slot.start = Math.max(slot.start, last)
    slot.end = Math.max(slot.end, slot.start)
    last = slot.end
  }

  // The speaking rate of the paired words tells how long the unpaired ones take.
  const fixedSlots = slots.filter((s) => s.fixed)
  const fixedChars = fixedSlots.reduce((sum, s) => sum + weight(s.word), 0)
  const fixedSeconds = fixedSlots.reduce((sum, s) => sum + (s.end - s.start), 0)
  const rate = fixedChars > 0 && fixedSeconds > 0 ? Math.min(0.3, Math.max(0.02, fixedSeconds / fixedChars)) : secondsPerChar

  // Runs of unpaired words between fixed ones (or the window's edges); a run with too little room
  // (less than half its usual length) frees a fixed neighbour, the longer one (more time to
  // share), and shares its time; one at a time, so that good pairs are kept where they can be.
  const runs = (): Array<{ first: number; last: number }> => {
    const out: Array<{ first: number; last: number }> = []
    let i = 0
    while (i < slots.length) {
      if (slots[i]!.fixed) {
        i += 1
        continue
      }
      const first = i
      while (i < slots.length && !slots[i]!.fixed) i += 1
      out.push({ first, last: i - 1 })
    }
    return out
  }
  const bounds = (run: { first: number; last: number }) => ({
    before: run.first > 0 ? slots[run.first - 1]!.end : from,
    after: run.last < slots.length - 1 ? slots[run.last + 1]!.start : windowEnd
  })
  const needs = (run: { first: number; last: number }) => {
    let chars = 0
    for (let k = run.first; k <= run.last; k++) chars += weight(slots[k]!.word)
    return chars * rate
  }
  for (let changed = true; changed; ) {
    changed = false
    for (const run of runs()) {
      const { after, before } = bounds(run)
      if (after - before >= needs(run) / 2) continue
      const neighbours = [slots[run.first - 1], slots[run.last + 1]].filter((slot): slot is Slot => slot?.fixed === true)
      const freed = neighbours.reduce<Slot | undefined>((longest, slot) => (longest === undefined || slot.end - slot.start > longest.end - longest.start ? slot : longest), undefined)
      if (freed !== undefined) {
        freed.fixed = false
        changed = true
      }
    }
  }

  for (const run of runs()) {
    const { after, before } = bounds(run)
    const needed = needs(run)
    const atStart = run.first === 0
    const atEnd = run.last === slots.length - 1
    // At an edge of the window with room to spare, the words keep to their timed neighbour
    // (the window may open on silence or music); between two timed words they fill the gap.
    const [a, b] =
      atStart && !atEnd && after - before > needed
        ? [after - needed, after]
        : atEnd && !atStart && after - before > needed
          ? [before, before + needed]
          : [before, after]
    const timed = spread(slots.slice(run.first, run.last + 1).map((s) => s.word), a, b)
    timed.forEach((t, k) => {
      const slot = slots[run.first + k]!
      slot.start = t.start
      slot.end = t.end
      // A paired word freed to share its time out is timed like the others (`heard` still says
      // what it was paired with).
      slot.timing = "interpolated"
    })
  }
  return slots
}

/**
 * Time a known text by a recogniser's timed words, within the window `[from, to]` of the audio
 * (default: from 0 to the last recognised word's end). Each word of the text keeps its spelling
 * and punctuation; with nothing recognised the words share the whole window.
 */
export const align = (
  text: string,
  heard: ReadonlyArray<TimedWord>,
  window: { readonly from?: number; readonly to?: number } = {},
  options: AlignOptions = {}
): ReadonlyArray<AlignedWord> => {
  const words = heard.filter((w) => !fillerWord.test(w.word.trim()) && normalise(w.word) !== "")
  const from = window.from ?? 0
  const to = window.to ?? words.reduce((end, w) => Math.max(end, w.end), from)
  return alignSpans([{ start: from, end: to, text }], words, options)
}

/**
 * Time several known texts, each within its own window (say, each scene's narration in a
 * video). A recognised word counts for the window its middle falls in, or the nearest one; each
 * text is then aligned with its window's words only, so no word is timed outside its window.
 * Windows are expected in order and not to overlap.
 */
export const alignSpans = (
  spans: ReadonlyArray<Span>,
  heard: ReadonlyArray<TimedWord>,
  options: AlignOptions = {}
): ReadonlyArray<AlignedWord> => {
  const secondsPerChar = options.secondsPerChar ?? 0.07
  const byWindow: Array<Array<TimedWord>> = spans.map(() => [])
  for (const word of heard) {
    if (fillerWord.test(word.word.trim()) || normalise(word.word) === "") continue
    const middle = (word.start + Math.max(word.start, word.end)) / 2
    let best = -1
    let bestDistance = Infinity
    spans.forEach((span, k) => {
      const distance = middle < span.start ? span.start - middle : middle > span.end ? middle - span.end : 0
      if (distance < bestDistance) {
        best = k
        bestDistance = distance
      }
    })
    if (best >= 0) byWindow[best]!.push(word)
  }
  let last = -Infinity
  return spans.flatMap((span, k) => {
    const words = [...byWindow[k]!].sort((a, b) => a.start - b.start)
    // A window that begins before the previous one ended is taken from where that one stopped.
    const from = Math.max(span.start, last)
    const slots = alignWindow(textWords(span.text), words, from, Math.max(from, span.end), secondsPerChar)
    if (slots.length > 0) last = slots[slots.length - 1]!.end
    return slots.map((slot) => ({
      word: slot.word,
      start: slot.start,
      end: slot.end,
      span: k,
      timing: slot.timing,
      ...(slot.heard !== undefined ? { heard: slot.heard } : {})
    }))
  })
}

const sentenceEnd = /[.!?;:]["')\]]*$/

/**
 * Subtitle cues of timed words: a cue holds the words of one span only, ends after a sentence,
 * before a pause of `maxGap`, or before it would grow past `maxChars` characters. Each cue runs
 * from its first word's start to its last word's end, so cues are as ordered and free of overlaps
 * as the words; they are short enough that `Subtitles.cues` keeps each one whole.
 */
export const alignedCues = (words: ReadonlyArray<AlignedWord>, options: CueOptions = {}): ReadonlyArray<TextSegment> => {
  const maxChars = options.maxChars ?? 42
  const maxGap = options.maxGap ?? 1
  const out: Array<TextSegment> = []
  let current: Array<AlignedWord> = []
  const close = () => {
    if (current.length === 0) return
    out.push({ start: current[0]!.start, end: current[current.length - 1]!.end, text: current.map((w) => w.word).join(" ") })
    current = []
  }
  for (const word of words) {
    const previous = current[current.length - 1]
    if (previous !== undefined) {
      // The cue's text with this word added: its words and a space between each two.
      const length = current.reduce((sum, w) => sum + w.word.length + 1, 0) + word.word.length
      if (previous.span !== word.span || sentenceEnd.test(previous.word) || word.start - previous.end >= maxGap || length > maxChars) {
        close()
      }
    }
    current.push(word)
  }
  close()
  return out
}
