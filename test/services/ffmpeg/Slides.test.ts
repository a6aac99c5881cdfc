/**
 * Slides as pure functions: measuring and wrapping text, laying out title and body (shrinking
 * and cutting what does not fit), and the ffmpeg command, where the text only ever travels in
 * text files.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { SlideSpec } from "../../../src/services/ffmpeg/Api.js"
import {
  cleanText,
  dejaVuSans,
  dejaVuSansBold,
  layoutSlide,
  type SlidePlan,
  slidePlan,
  textWidth,
  wrapText
} from "../../../src/services/ffmpeg/Slides.js"

const fonts = { regular: "/fonts/DejaVuSans.ttf", bold: "/fonts/DejaVuSans-Bold.ttf" }

const plan = (spec: SlideSpec): SlidePlan => {
  const result = slidePlan(spec, "/out/slide.png", fonts)
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}

const vf = (p: SlidePlan): string => p.args[p.args.indexOf("-vf") + 1] ?? ""

const paragraph =
  "Local media services put behind one typed interface: speech, transcription, composition and delivery, " +
  "each a provider that can be swapped for a remote one without touching the pipeline that uses it."

describe("Slides: text", () => {
  it("measures with the font's advance widths", () => {
    // H e l l o in DejaVu Sans: 752 + 615 + 278 + 278 + 612 thousandths of an em.
    expect(textWidth("Hello", 100, dejaVuSans)).toBeCloseTo(253.5, 5)
    expect(textWidth("Hello", 100, dejaVuSansBold)).toBeGreaterThan(textWidth("Hello", 100, dejaVuSans))
    expect(textWidth("iiii", 40, dejaVuSans)).toBeLessThan(textWidth("MMMM", 40, dejaVuSans))
    // Characters outside the table count with the fallback width.
    expect(textWidth("\u4e2d", 100, dejaVuSans)).toBe(70)
  })

  it("cleans text: line breaks kept, blank runs made one gap, tabs and control characters made spaces", () => {
    expect(cleanText("  one\ttwo \u0007three \r\n\r\n\n four\u2028five\n\n")).toEqual(["one two three", "", "four", "five"])
    expect(cleanText("\n\n  \n")).toEqual([])
  })

  it("wraps words into lines that fit, keeping their order, breaking only words too long for a line", () => {
    for (const size of [20, 33, 48]) {
      const lines = wrapText(paragraph, size, 600, dejaVuSans)
      expect(lines.length).toBeGreaterThan(1)
      for (const line of lines) expect(textWidth(line, size, dejaVuSans)).toBeLessThanOrEqual(600)
      expect(lines.join(" ")).toBe(paragraph)
    }
    expect(wrapText("first line\nsecond", 30, 1000, dejaVuSans)).toEqual(["first line", "second"])
    const long = "x".repeat(200)
    const pieces = wrapText(`a ${long} b`, 30, 300, dejaVuSans)
    expect(pieces[0]).toBe("a")
    // The word's last piece shares its line with the next word.
    expect(pieces.slice(1).join("")).toBe(`${long} b`)
    for (const piece of pieces) expect(textWidth(piece, 30, dejaVuSans)).toBeLessThanOrEqual(300)
  })
})

describe("Slides: layout", () => {
  it("puts the title (bold, large) at the top and the body below it, centred in the space left", () => {
    const layout = layoutSlide({ title: "Automarket", body: "One interface for every media service." }, 1280, 720)
    const [title, ...body] = layout.lines
    expect(title).toMatchObject({ text: "Automarket", bold: true, size: 72 })
    expect(title!.baseline).toBeLessThan(160)
    expect(body.map((line) => line.text)).toEqual(["One interface for every media service."])
    expect(body[0]!.bold).toBe(false)
    expect(body[0]!.size).toBeLessThan(title!.size)
    expect(body[0]!.baseline).toBeGreaterThan(title!.baseline + title!.size)
    expect(layout.rule).toBeDefined()
    expect(layout.rule!.y).toBeGreaterThan(title!.baseline)
    expect(layout.rule!.y).toBeLessThan(body[0]!.baseline - body[0]!.size)
  })

  it("centres a body without a title vertically, with no rule", () => {
    const layout = layoutSlide({ title: "", body: "Just this." }, 1280, 720)
    expect(layout.lines).toHaveLength(1)
    expect(Math.abs(layout.lines[0]!.baseline - 360)).toBeLessThan(40)
    expect(layout.rule).toBeUndefined()
  })

  it("shrinks a long body until it fits; cuts a far too long one with an ellipsis", () => {
    const long = layoutSlide({ title: "Title", body: `${paragraph} ${paragraph} ${paragraph}` }, 1280, 720)
    const short = layoutSlide({ title: "Title", body: "short" }, 1280, 720)
    expect(long.lines[1]!.size).toBeLessThan(short.lines[1]!.size)
    const huge = layoutSlide({ title: "Title", body: Array.from({ length: 40 }, () => paragraph).join("\n") }, 1280, 720)
    const last = huge.lines.at(-1)!
    expect(last.text.endsWith("\u2026")).toBe(true)
    expect(last.baseline).toBeLessThanOrEqual(720)
    for (const line of huge.lines) expect(textWidth(line.text, line.size, line.bold ? dejaVuSansBold : dejaVuSans)).toBeLessThanOrEqual(1280 * 0.86)
    // Baselines go down the frame, one line height apart within the body.
    const body = huge.lines.filter((line) => !line.bold)
    for (let i = 1; i < body.length; i++) expect(body[i]!.baseline).toBeGreaterThan(body[i - 1]!.baseline)
  })

  it("keeps a long title to three lines", () => {
    const layout = layoutSlide({ title: paragraph, body: "" }, 1280, 720)
    expect(layout.lines.filter((line) => line.bold).length).toBeLessThanOrEqual(3)
  })
})

describe("Slides: the ffmpeg command", () => {
  it("draws each line from its own text file with expansion off; the text never enters the arguments", () => {
    const hostile = "Quote ' \" colon: back\\slash 100% %{pts} %{eif\\:n\\:d} [out];[x]null drawtext=text=pwned"
    const p = plan({ title: hostile, body: "second: line's text" })
    expect(p.textFiles.map((file) => file.text).join(" ")).toContain("Quote ' \" colon: back\\slash 100% %{pts}")
    const joined = p.args.join(" ")
    for (const fragment of ["Quote", "pwned", "%{pts}", "second:", "100%"]) expect(joined).not.toContain(fragment)
    const drawtexts = vf(p).split(",").filter((filter) => filter.startsWith("drawtext="))
    expect(drawtexts).toHaveLength(p.textFiles.length)
    p.textFiles.forEach((file, i) => {
      expect(file.name).toBe(`slide-${i}.txt`)
      expect(drawtexts[i]).toContain(`:textfile=slide-${i}.txt:expansion=none:`)
    })
    expect(drawtexts[0]).toContain("fontfile=/fonts/DejaVuSans-Bold.ttf:")
    expect(drawtexts.at(-1)).toContain("fontfile=/fonts/DejaVuSans.ttf:")
    expect(drawtexts[0]).toMatch(/:x=\(w-text_w\)\/2:y=\d+-ascent$/)
  })

  it("a solid background and text colour; PNG of the asked size", () => {
    const p = plan({ text: "Hello", width: 640, height: 360, background: "#102030", color: "#FFCC00" })
    expect(p.args).toEqual(expect.arrayContaining(["-f", "lavfi", "-i", "color=c=0x102030:s=640x360:r=1:d=1,format=rgb24"]))
    expect(vf(p)).not.toContain("geq")
    expect(vf(p)).toContain("fontcolor=0xffcc00")
    // Light text gets a soft shadow; dark text does not.
    expect(vf(p)).toContain("shadowcolor=0x000000@0.35")
    expect(vf(plan({ text: "Hello", background: "#f0f0f0", color: "#202020" }))).not.toContain("shadow")
    expect(p.args.slice(-10)).toEqual(["-frames:v", "1", "-c:v", "png", "-pix_fmt", "rgb24", "-f", "image2", "-update", "1", "/out/slide.png"].slice(-10))
    expect([p.width, p.height, p.mimeType, p.extension]).toEqual([640, 360, "image/png", "png"])
  })

  it("a vertical gradient by default (or as asked), computed per channel from the row", () => {
    expect(vf(plan({ text: "Hello" }))).toContain("geq=r=31+(-18)*Y/719:g=59+(-35)*Y/719:b=92+(-54)*Y/719")
    expect(vf(plan({ text: "Hello", height: 100, background: { top: "#000000", bottom: "#ff8000" } }))).toContain(
      "geq=r=0+(255)*Y/99:g=0+(128)*Y/99:b=0+(0)*Y/99"
    )
  })

  it("`text` stands in for the body; nothing to draw is refused", () => {
    expect(plan({ text: "from text" }).textFiles.map((file) => file.text)).toEqual(["from text"])
    expect(plan({ text: "ignored", body: "from body" }).textFiles.map((file) => file.text)).toEqual(["from body"])
    for (const spec of [{}, { text: "" }, { text: "  \n\t " }, { title: " ", body: "" }]) {
      const result = slidePlan(spec, "/out/slide.png", fonts)
      expect(Either.isLeft(result) && result.left).toBe('the slide has no text: give "text", "title" or "body"')
    }
  })

  it("uses fontconfig's default when no font file is known, and never a font path with unusual characters", () => {
    const none = slidePlan({ text: "x" }, "/out/slide.png", { regular: undefined, bold: undefined })
    expect(Either.isRight(none) && none.right.args.join(" ")).not.toContain("fontfile=")
    const odd = slidePlan({ text: "x" }, "/out/slide.png", { regular: "/fonts/a:b.ttf", bold: undefined })
    expect(Either.isRight(odd) && odd.right.args.join(" ")).not.toContain("fontfile=")
  })
})
