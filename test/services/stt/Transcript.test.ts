/**
 * The pure transcript functions: reading pocketsphinx's timed output and ffmpeg's silence log,
 * cutting words into segments at pauses, and writing each of whisper's output formats exactly.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  parsePocketsphinx,
  parseSilences,
  render,
  segmentWords,
  transcriptOf
} from "../../../src/services/stt/Transcript.js"

// Real output of `pocketsphinx_continuous -time yes` for two flite sentences (hypothesis lines included).
const pocketsphinxOutput = `the quick brown fox jumped
<s> 0.100 0.150 0.999400
the 0.160 0.280 0.591342
quick 0.290 0.560 0.120483
brown 0.570 0.910 0.501185
fox(2) 0.920 1.290 0.999800
jumped 1.300 1.740 0.100815
<sil> 1.750 1.800 0.700000
over 1.810 1.960 0.998801
[NOISE] 1.970 2.000 0.500000
</s> 2.010 2.050 1.000000
the children
<s> 5.020 5.090 0.999500
the 5.100 5.210 0.800735
children 5.220 5.500 0.748313
</s> 5.510 5.600 1.000000
`

describe("Transcript", () => {
  it("reads pocketsphinx's timed tokens, skipping hypothesis lines, numbering utterances", () => {
    const tokens = parsePocketsphinx(pocketsphinxOutput)
    expect(tokens.map((t) => t.token)).toEqual([
      "<s>", "the", "quick", "brown", "fox(2)", "jumped", "<sil>", "over", "[NOISE]", "</s>", "<s>", "the", "children", "</s>"
    ])
    expect(tokens[1]).toEqual({ token: "the", start: 0.16, end: 0.28, probability: 0.591342, utterance: 0 })
    expect(tokens.at(-2)?.utterance).toBe(1)
  })

  it("reads ffmpeg's silencedetect log; an open silence ends with the audio", () => {
    const log = "[silencedetect @ 0x1] silence_start: 0\n[silencedetect @ 0x1] silence_end: 0.2165 | silence_duration: 0.2165\n" +
      "[silencedetect @ 0x1] silence_start: 2.77631\n[silencedetect @ 0x1] silence_end: 2.89731 | silence_duration: 0.121\n" +
      "[silencedetect @ 0x1] silence_start: 4.71537\n"
    expect(parseSilences(log, 4.855)).toEqual([
      { start: 0, end: 0.2165 },
      { start: 2.77631, end: 2.89731 },
      { start: 4.71537, end: 4.855 }
    ])
  })

  it("cuts segments at <sil>, at utterance ends, drops fillers and pronunciation variants", () => {
    const segments = segmentWords(parsePocketsphinx(pocketsphinxOutput))
    expect(segments.map((s) => [s.id, s.start, s.end, s.text])).toEqual([
      [0, 0.16, 1.74, " the quick brown fox jumped"],
      [1, 1.81, 1.96, " over"],
      [2, 5.1, 5.5, " the children"]
    ])
    expect(segments[0]?.words.map((w) => w.word)).toEqual(["the", "quick", "brown", "fox", "jumped"])
  })

  it("cuts at a silence of the audio between two words even when the word timings touch", () => {
    const tokens = parsePocketsphinx("<s> 0.0 0.1 1\ndog 2.53 2.82 0.9\nthe 2.83 2.95 0.9\nchildren 2.96 3.5 0.9\n</s> 3.6 3.7 1\n")
    expect(segmentWords(tokens).map((s) => s.text)).toEqual([" dog the children"])
    const silences = [{ start: 2.776, end: 2.897 }]
    expect(segmentWords(tokens, undefined, {}, silences).map((s) => s.text)).toEqual([" dog", " the children"])
    // A silence inside a word (a stop's closure) does not cut.
    expect(segmentWords(tokens, undefined, {}, [{ start: 3.1, end: 3.25 }]).map((s) => s.text)).toEqual([" dog the children"])
  })

  it("cuts long runs by duration and word count, clamps times to the audio", () => {
    const words = Array.from({ length: 10 }, (_, i) => `w${i} ${i}.0 ${i}.9 1`).join("\n")
    const tokens = parsePocketsphinx(`<s> 0 0 1\n${words}\n`)
    expect(segmentWords(tokens, undefined, { maxWords: 4 }).map((s) => s.words.length)).toEqual([4, 4, 2])
    expect(segmentWords(tokens, undefined, { maxDuration: 3 }).map((s) => s.words.length)).toEqual([3, 3, 3, 1])
    expect(segmentWords(tokens, 8.5).at(-1)?.end).toBe(8.5)
  })

  it("writes txt, srt, vtt, tsv and json exactly", () => {
    const transcript = transcriptOf(segmentWords(parsePocketsphinx(pocketsphinxOutput)))
    expect(render(transcript, "txt")).toBe("the quick brown fox jumped\nover\nthe children\n")
    expect(render(transcript, "srt")).toBe(
      "1\n00:00:00,160 --> 00:00:01,740\nthe quick brown fox jumped\n\n" +
        "2\n00:00:01,810 --> 00:00:01,960\nover\n\n" +
        "3\n00:00:05,100 --> 00:00:05,500\nthe children\n\n"
    )
    expect(render(transcript, "vtt")).toBe(
      "WEBVTT\n\n00:00.160 --> 00:01.740\nthe quick brown fox jumped\n\n00:01.810 --> 00:01.960\nover\n\n00:05.100 --> 00:05.500\nthe children\n\n"
    )
    expect(render(transcript, "tsv")).toBe("start\tend\ttext\n160\t1740\tthe quick brown fox jumped\n1810\t1960\tover\n5100\t5500\tthe children\n")
    const json = JSON.parse(render(transcript, "json")) as { text: string; language: string; segments: Array<Record<string, unknown>> }
    expect(json.text).toBe(" the quick brown fox jumped over the children")
    expect(json.language).toBe("en")
    expect(json.segments[0]).toEqual({
      id: 0, seek: 0, start: 0.16, end: 1.74, text: " the quick brown fox jumped", tokens: [], temperature: 0, avg_logprob: expect.any(Number)
    })
    const withWords = JSON.parse(render(transcript, "json", { wordTimestamps: true })) as { segments: Array<{ words: Array<unknown> }> }
    expect(withWords.segments[2]?.words).toEqual([
      { word: " the", start: 5.1, end: 5.21, probability: 0.801 },
      { word: " children", start: 5.22, end: 5.5, probability: 0.748 }
    ])
  })

  it("an empty transcript renders empty documents", () => {
    const empty = transcriptOf([])
    expect(render(empty, "txt")).toBe("")
    expect(render(empty, "srt")).toBe("")
    expect(render(empty, "vtt")).toBe("WEBVTT\n\n")
    expect(render(empty, "tsv")).toBe("start\tend\ttext\n")
    expect(JSON.parse(render(empty, "json"))).toEqual({ text: "", segments: [], language: "en" })
  })
})
