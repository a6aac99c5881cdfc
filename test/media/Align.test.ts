/**
 * A known text timed by a recogniser's words: pairs, times shared out between timed neighbours,
 * windows kept, spelling kept; and random edits of a text, which never break the invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import { align, type AlignedWord, alignedCues, alignSpans, normalise, textWords, type TimedWord, wordsOfSegments } from "../../src/media/Align.js"
import { cues } from "../../src/media/Subtitles.js"

/** Words said one after another from `from`, each `each` seconds long with `gap` between. */
const said = (text: string, from = 0, each = 0.4, gap = 0.1): Array<TimedWord> =>
  text.split(" ").map((word, i) => ({ word, start: from + i * (each + gap), end: from + i * (each + gap) + each }))

/** Every word inside [from, to], starting no earlier than the last ended, never backwards. */
const expectOrdered = (words: ReadonlyArray<AlignedWord>, from: number, to: number) => {
  let last = from
  for (const w of words) {
    expect(w.start).toBeGreaterThanOrEqual(last - 1e-9)
    expect(w.end).toBeGreaterThanOrEqual(w.start)
    expect(w.end).toBeLessThanOrEqual(to + 1e-9)
    last = w.end
  }
}

describe("Align", () => {
  it("normalises words for comparison and keeps punctuation with a word", () => {
    expect(normalise("Door,")).toBe("door")
    expect(normalise("the(2)")).toBe("the")
    expect(normalise("don't!")).toBe("don't")
    expect(normalise("Café")).toBe("cafe")
    expect(textWords("Hello  - world ... again")).toEqual(["Hello -", "world ...", "again"])
    expect(textWords("— Go.")).toEqual(["— Go."])
  })

  it("an exact transcript gives every word the recogniser's time", () => {
    const heard = said("every media service you use")
    const words = align("Every media service, you use.", heard, { from: 0, to: 3 })
    expect(words.map((w) => w.word)).toEqual(["Every", "media", "service,", "you", "use."])
    expect(words.map((w) => w.timing)).toEqual(Array(5).fill("matched"))
    expect(words.map((w) => [w.start, w.end])).toEqual(heard.map((w) => [w.start, w.end]))
  })

  it("a substitution takes the guessed word's time, the word it swallowed is timed beside it", () => {
    // "the tools" heard as "details": "tools" is paired with it (more alike), "the" shares the time.
    const heard = said("with no keys and no cloud details on this computer de waal of the work")
    const text = "With no keys and no cloud, the tools on this computer do all of the work."
    const words = align(text, heard, { from: 0, to: 10 })
    expect(words.map((w) => w.word)).toEqual(textWords(text))
    const byWord = (w: string) => words.find((x) => x.word === w)!
    expect(byWord("tools")).toMatchObject({ heard: "details" })
    expect(byWord("the").timing).toBe("interpolated")
    expect(byWord("do")).toMatchObject({ timing: "substituted", heard: "de" })
    // "the tools" lies within cloud's end and "on"'s start, where "details" was heard.
    expect(byWord("the").start).toBeGreaterThanOrEqual(byWord("cloud,").start)
    expect(byWord("tools").end).toBeLessThanOrEqual(byWord("on").start + 1e-9)
    expect(byWord("on")).toMatchObject({ timing: "matched", start: heard[7]!.start, end: heard[7]!.end })
    expectOrdered(words, 0, 10)
  })

  it("words the recogniser missed at the start, middle and end are timed between their neighbours", () => {
    const heard = said("media service you", 1)
    const words = align("Every media service that you use", heard, { from: 0.5, to: 4 })
    // "that" has a 0.1 s gap between "service" and "you": too little, so "service" (the first of
    // two as long) shares its time with it; that is room enough, and "you" keeps its own.
    expect(words.map((w) => w.timing)).toEqual(["interpolated", "matched", "interpolated", "interpolated", "matched", "interpolated"])
    const [every, media, service, that, you, use] = words
    // The first word ends where the first heard one starts, the last starts where the last heard one ends.
    expect(every!.end).toBeCloseTo(media!.start)
    expect(every!.start).toBeGreaterThanOrEqual(0.5)
    expect(use!.start).toBeCloseTo(you!.end)
    expect(use!.end).toBeLessThanOrEqual(4)
    expect(that!.start).toBeGreaterThanOrEqual(media!.end)
    expect(that!.end - that!.start).toBeGreaterThan(0.1)
    expect(service!.heard).toBe("service")
    expect(service!.start).toBeCloseTo(media!.end)
    expect(that!.end).toBeCloseTo(you!.start)
    expectOrdered(words, 0.5, 4)
  })

  it("words the recogniser added are left out", () => {
    const heard = said("um every uh media service you use so")
    const words = align("every media service you use", heard, { from: 0, to: 5 })
    expect(words.map((w) => w.timing)).toEqual(Array(5).fill("matched"))
    expect(words[0]!.start).toBe(heard[1]!.start)
    expect(words[4]!.end).toBe(heard[6]!.end)
  })

  it("with nothing recognised, the words share the whole window by their length", () => {
    const words = align("One door for every service.", [], { from: 2, to: 6 })
    expect(words.map((w) => w.timing)).toEqual(Array(5).fill("interpolated"))
    expect(words[0]!.start).toBe(2)
    expect(words[4]!.end).toBe(6)
    // "service." is longer than "One".
    expect(words[4]!.end - words[4]!.start).toBeGreaterThan(words[0]!.end - words[0]!.start)
    expectOrdered(words, 2, 6)
  })

  it("recogniser times that overlap, go backwards or leave the window are made ordered and clamped", () => {
    const heard: Array<TimedWord> = [
      { word: "<sil>", start: 0, end: 1 },
      { word: "one", start: 0.5, end: 1.4 },
      { word: "door", start: 1.2, end: 1.8 },
      { word: "for(2)", start: 1.7, end: 1.6 },
      { word: "all", start: 2.9, end: 3.6 }
    ]
    const words = align("One door for all", heard, { from: 0.8, to: 3.2 })
    expect(words.map((w) => w.timing)).toEqual(["matched", "matched", "matched", "matched"])
    expect(words[0]!.start).toBe(0.8)
    expect(words[3]!.end).toBe(3.2)
    expectOrdered(words, 0.8, 3.2)
  })

  it("each span's words are aligned within its own window, even when the recogniser drifts", () => {
    const spans = [
      { start: 0, end: 2, text: "One door." },
      { start: 3, end: 6, text: "Local first, always." }
    ]
    // "local" is heard late in the first window's silence-free tail; "first" far off; "always" missing.
    const heard: Array<TimedWord> = [
      { word: "one", start: 0.2, end: 0.6 },
      { word: "door", start: 0.7, end: 1.2 },
      { word: "local", start: 2.7, end: 3.4 },
      { word: "first", start: 3.5, end: 3.9 }
    ]
    const words = alignSpans(spans, heard)
    expect(words.map((w) => [w.word, w.span])).toEqual([
      ["One", 0],
      ["door.", 0],
      ["Local", 1],
      ["first,", 1],
      ["always.", 1]
    ])
    for (const w of words) {
      expect(w.start).toBeGreaterThanOrEqual(spans[w.span]!.start)
      expect(w.end).toBeLessThanOrEqual(spans[w.span]!.end)
    }
    expect(words[2]!.start).toBe(3)
    expect(words[4]!.timing).toBe("interpolated")
    expectOrdered(words, 0, 6)

    const list = alignedCues(words)
    expect(list.map((c) => c.text)).toEqual(["One door.", "Local first, always."])
    expect(list[1]!.start).toBe(3)
  })

  it("cues keep to one span, end at sentences and pauses, and stay whole through Subtitles.cues", () => {
    const text = "Every media service you use is behind one door, and the door is typed. Nothing else."
    const words = align(text, said(text.replace(/[.,]/g, "").toLowerCase()), { from: 0, to: 20 })
    const list = alignedCues(words, { maxChars: 30 })
    expect(list.map((c) => c.text)).toEqual(["Every media service you use is", "behind one door, and the door", "is typed.", "Nothing else."])
    expect(cues(list, 30)).toEqual(list)
    const paused = alignedCues([
      { word: "a", start: 0, end: 0.2, span: 0, timing: "matched" },
      { word: "b", start: 1.2, end: 1.4, span: 0, timing: "matched" },
      { word: "c", start: 1.4, end: 1.6, span: 1, timing: "matched" }
    ])
    expect(paused.map((c) => c.text)).toEqual(["a", "b", "c"])
  })

  it("words of segments: the recogniser's when timed, else shared out over the segment", () => {
    expect(
      wordsOfSegments([
        { start: 0, end: 1, text: "hi there", words: [{ word: " hi", start: 0, end: 0.3 }, { word: "<sil>", start: 0.3, end: 0.5 }, { word: "there", start: 0.5, end: 1 }] },
        { start: 2, end: 3, text: "a bcd" }
      ])
    ).toEqual([
      { word: "hi", start: 0, end: 0.3 },
      { word: "there", start: 0.5, end: 1 },
      // "a" weighs 2 (a letter and a space), "bcd" 4.
      { word: "a", start: 2, end: 2 + 1 / 3 },
      { word: "bcd", start: 2 + 1 / 3, end: 3 }
    ])
  })

  it("random edits of the recognised words: the text's words, in order, inside the window, never overlapping", () => {
    // A small seeded generator, so a failure can be run again.
    let seed = 20261130
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const vocabulary = "the a tools door service media local first cloud work of all do on this computer".split(" ")
    const pick = <A>(list: ReadonlyArray<A>): A => list[Math.floor(random() * list.length)]!
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 25) }, () => pick(vocabulary)).join(" ")
      const heard: Array<string> = []
      for (const word of text.split(" ")) {
        const r = random()
        if (r < 0.15) continue // deleted
        if (r < 0.3) heard.push(pick(vocabulary)) // substituted
        else heard.push(word)
        if (random() < 0.1) heard.push(pick(vocabulary)) // inserted
      }
      const from = random() * 2
      const to = from + 0.5 + random() * 10
      const times = said(heard.join(" "), from + random(), 0.05 + random() * 0.5, random() * 0.3).filter((w) => w.word !== "")
      const words = align(`${text}.`, times, { from, to })
      expect(words.map((w) => normalise(w.word))).toEqual(text.split(" "))
      expectOrdered(words, from, to)
      const list = alignedCues(words)
      expect(list.map((c) => c.text).join(" ")).toBe(`${text}.`)
      for (let i = 1; i < list.length; i++) expect(list[i]!.start).toBeGreaterThanOrEqual(list[i - 1]!.end - 1e-9)
    }
  })
})
