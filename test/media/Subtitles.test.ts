/**
 * The one subtitle renderer: cues cut from long segments, and SubRip, WebVTT, TSV and plain text
 * written byte for byte as whisper's writers write them (the STT service's `/asr` answers, the
 * CLI's `transcribe --format srt|vtt` and the demo's .srt all come from here).
 */
import { describe, expect, it } from "@effect/vitest"
import { cues, formatTimestamp, renderSrt, renderTsv, renderTxt, renderVtt } from "../../src/media/Subtitles.js"

const segments = [
  { start: 0, end: 1.5, text: " hi" },
  { start: 61.25, end: 3723.004, text: " there --> here\tand\tthere " }
]

describe("Subtitles", () => {
  it("splits long segments into timed cues", () => {
    const list = cues([{ start: 1, end: 5, text: "every media service you use sits behind one typed interface" }], 30)
    expect(list.map((c) => c.text)).toEqual(["every media service you use", "sits behind one typed", "interface"])
    expect(list[0]!.start).toBe(1)
    expect(list[list.length - 1]!.end).toBeCloseTo(5)
    for (let i = 1; i < list.length; i++) expect(list[i]!.start).toBeCloseTo(list[i - 1]!.end)
  })

  it("a segment without words gives no cue; a segment of no length gives cues of no length", () => {
    expect(cues([{ start: 1, end: 2, text: "  " }])).toEqual([])
    expect(cues([{ start: 3, end: 2, text: "backwards" }])).toEqual([{ start: 3, end: 3, text: "backwards" }])
  })

  it("formats timestamps as whisper does", () => {
    expect(formatTimestamp(3.5, true, ",")).toBe("00:00:03,500")
    expect(formatTimestamp(3.5, false, ".")).toBe("00:03.500")
    expect(formatTimestamp(3723.0456, false, ".")).toBe("01:02:03.046")
    expect(formatTimestamp(59.9996, true, ",")).toBe("00:01:00,000")
    expect(formatTimestamp(-1, true, ",")).toBe("00:00:00,000")
  })

  it("writes SubRip: numbered cues, hours always, each cue followed by a blank line, no arrow inside a cue", () => {
    expect(renderSrt(segments)).toBe(
      "1\n00:00:00,000 --> 00:00:01,500\nhi\n\n2\n00:01:01,250 --> 01:02:03,004\nthere -> here\tand\tthere\n\n"
    )
    expect(renderSrt(cues([{ start: 0, end: 1.5, text: "hi" }]))).toBe("1\n00:00:00,000 --> 00:00:01,500\nhi\n\n")
    expect(renderSrt([])).toBe("")
  })

  it("writes WebVTT: the header, hours only when non-zero", () => {
    expect(renderVtt(segments)).toBe(
      "WEBVTT\n\n00:00.000 --> 00:01.500\nhi\n\n01:01.250 --> 01:02:03.004\nthere -> here\tand\tthere\n\n"
    )
    expect(renderVtt([])).toBe("WEBVTT\n\n")
  })

  it("writes TSV in integer milliseconds (tabs in the text become spaces) and plain text a segment a line", () => {
    expect(renderTsv(segments)).toBe("start\tend\ttext\n0\t1500\thi\n61250\t3723004\tthere --> here and there\n")
    expect(renderTxt(segments)).toBe("hi\nthere --> here\tand\tthere\n")
    expect(renderTsv([])).toBe("start\tend\ttext\n")
    expect(renderTxt([])).toBe("")
  })
})
