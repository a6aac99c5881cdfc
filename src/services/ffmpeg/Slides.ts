/**
 * Text slides: a title and body text drawn on a plain or gradient background into a PNG, as a
 * pure function from a `SlideSpec` to the ffmpeg command, like `FilterGraph` does for
 * compositions.
 *
 * The text is laid out here, not by ffmpeg: wrapped into lines that fit the width (measured
 * with the advance widths of DejaVu Sans, the font drawn with), shrunk until it fits the
 * height, and cut with an ellipsis when even the smallest size does not fit. Each line goes
 * into a text file of its own, drawn by `drawtext` with `textfile=` and `expansion=none`:
 * nothing a caller writes enters the filter graph, so quotes, colons, backslashes and `%{...}`
 * are drawn as they are.
 *
 * @module
 */
import * as Either from "effect/Either"
import type { SlideBackground, SlideSpec } from "./Api.js"
import type { TextFile } from "./FilterGraph.js"

// ---------------------------------------------------------------------------------------------
// font metrics
// ---------------------------------------------------------------------------------------------

/** Advance widths of a font in thousandths of an em, by code point. */
export interface FontMetrics {
  readonly widths: ReadonlyMap<number, number>
  /** The width assumed for characters not in the table. */
  readonly fallback: number
}

const metrics = (ascii: string, latin1: string, extra: ReadonlyArray<readonly [number, number]>, fallback: number): FontMetrics => {
  const widths = new Map<number, number>()
  ascii.split(",").forEach((width, i) => widths.set(32 + i, Number(width)))
  latin1.split(",").forEach((width, i) => widths.set(160 + i, Number(width)))
  for (const [code, width] of extra) widths.set(code, width)
  return { widths, fallback }
}

// Read from the fonts' hmtx tables (units per em 2048, scaled to 1000): ASCII 32..126, Latin-1
// 160..255, and the typographic punctuation people paste (dashes, quotes, bullet, ellipsis, euro).
/** DejaVu Sans. */
export const dejaVuSans: FontMetrics = metrics(
  "318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,838,838,838,531," +
    "1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,685,611,685,390,337,390,838,500," +
    "500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,392,634,592,818,592,592,525,636,337,636,838",
  "318,401,636,636,636,636,337,500,500,1000,471,612,838,361,1000,500,500,838,401,401,500,636,636,318,500,401,471,612,969,969,969,531," +
    "684,684,684,684,684,684,974,698,632,632,632,632,295,295,295,295,775,748,787,787,787,787,787,838,787,732,732,732,732,611,605,630," +
    "613,613,613,613,613,613,982,550,615,615,615,615,278,278,278,278,612,634,612,612,612,612,612,838,612,634,634,634,634,592,635,592",
  [[0x2013, 500], [0x2014, 1000], [0x2018, 318], [0x2019, 318], [0x201c, 518], [0x201d, 518], [0x2022, 590], [0x2026, 1000], [0x20ac, 636], [0x2122, 1000]],
  700
)

/** DejaVu Sans Bold. */
export const dejaVuSansBold: FontMetrics = metrics(
  "348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,838,838,838,580," +
    "1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,771,724,725,457,365,457,838,500," +
    "500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,478,712,652,924,645,652,582,712,365,712,838",
  "348,456,696,696,636,696,365,500,500,1000,564,646,838,415,1000,500,500,838,438,438,500,736,636,380,500,438,564,646,1035,1035,1035,580," +
    "774,774,774,774,774,774,1085,734,683,683,683,683,372,372,372,372,838,837,850,850,850,850,850,838,850,812,812,812,812,724,738,719," +
    "675,675,675,675,675,675,1048,593,678,678,678,678,343,343,343,343,687,712,687,687,687,687,687,838,687,712,712,712,712,652,716,652",
  [[0x2013, 500], [0x2014, 1000], [0x2018, 380], [0x2019, 380], [0x201c, 657], [0x201d, 657], [0x2022, 639], [0x2026, 1000], [0x20ac, 696], [0x2122, 1000]],
  760
)

// DejaVu's ascender and descender (hhea), in ems: where the baseline sits in a line box.
const ascender = 0.928
const descender = 0.236

/** The width in pixels of `text` at `size` pixels per em. */
export const textWidth = (text: string, size: number, font: FontMetrics): number => {
  let units = 0
  for (const char of text) units += font.widths.get(char.codePointAt(0) ?? 32) ?? font.fallback
  return (units * size) / 1000
}

// ---------------------------------------------------------------------------------------------
// wrapping
// ---------------------------------------------------------------------------------------------

/**
 * Text as drawable lines of words: line breaks kept (runs of blank lines become one empty
 * line), tabs and other spacing made single spaces, control characters dropped.
 */
export const cleanText = (text: string): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const raw = text
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, "\n")
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, " ")
    .split("\n")
  for (const line of raw.map((l) => l.replace(/\s+/g, " ").trim())) {
    if (line === "" && (lines.length === 0 || lines[lines.length - 1] === "")) continue
    lines.push(line)
  }
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  return lines
}

// A word too wide for a line, cut into pieces that fit (at least one character each).
const breakWord = (word: string, size: number, maxWidth: number, font: FontMetrics): Array<string> => {
  const pieces: Array<string> = []
  let piece = ""
  for (const char of word) {
    if (piece !== "" && textWidth(piece + char, size, font) > maxWidth) {
      pieces.push(piece)
      piece = ""
    }
    piece += char
  }
  if (piece !== "") pieces.push(piece)
  return pieces
}

/**
 * `text` wrapped into lines no wider than `maxWidth` pixels at `size`: words are kept whole
 * unless one alone is too wide; line breaks in the text are kept; an empty string marks a
 * paragraph gap.
 */
export const wrapText = (text: string, size: number, maxWidth: number, font: FontMetrics): Array<string> => {
  const lines: Array<string> = []
  for (const paragraph of cleanText(text)) {
    if (paragraph === "") {
      lines.push("")
      continue
    }
    let line = ""
    for (const word of paragraph.split(" ")) {
      const candidate = line === "" ? word : `${line} ${word}`
      if (textWidth(candidate, size, font) <= maxWidth) {
        line = candidate
        continue
      }
      if (line !== "") lines.push(line)
      const pieces = textWidth(word, size, font) <= maxWidth ? [word] : breakWord(word, size, maxWidth, font)
      lines.push(...pieces.slice(0, -1))
      line = pieces[pieces.length - 1] ?? ""
    }
    if (line !== "") lines.push(line)
  }
  return lines
}

// The line cut so that it and an ellipsis fit.
const withEllipsis = (line: string, size: number, maxWidth: number, font: FontMetrics): string => {
  let kept = [...line]
  while (kept.length > 0 && textWidth(`${kept.join("").trimEnd()}\u2026`, size, font) > maxWidth) kept = kept.slice(0, -1)
  return `${kept.join("").trimEnd()}\u2026`
}

// The first `count` lines, the last of them ending in an ellipsis (trailing gaps dropped).
const truncate = (lines: ReadonlyArray<string>, count: number, size: number, maxWidth: number, font: FontMetrics): Array<string> => {
  if (count >= lines.length) return [...lines]
  const kept = lines.slice(0, Math.max(0, count))
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop()
  if (kept.length === 0) return []
  return [...kept.slice(0, -1), withEllipsis(kept[kept.length - 1]!, size, maxWidth, font)]
}

// ---------------------------------------------------------------------------------------------
// layout
// ---------------------------------------------------------------------------------------------

/** One line of a laid-out slide: its text, size, the y of its baseline, and whether it is bold (the title). */
export interface SlideLine {
  readonly text: string
  readonly size: number
  readonly baseline: number
  readonly bold: boolean
}

/** Where everything goes on a slide. */
export interface SlideLayout {
  readonly lines: ReadonlyArray<SlideLine>
  /** The short rule under the title, when there are both a title and a body. */
  readonly rule: { readonly x: number; readonly y: number; readonly width: number; readonly height: number } | undefined
}

// Leave room for hinting and kerning differences between this measure and FreeType's.
const widthSafety = 0.96
const titleLead = 1.2
const bodyLead = 1.32
const maxTitleLines = 3

const shrink = (size: number, min: number): number => Math.max(min, Math.floor(size * 0.92))

// The baselines of lines stacked from `top`, each `lead` times its size tall.
const stack = (lines: ReadonlyArray<string>, size: number, lead: number, top: number, bold: boolean): Array<SlideLine> => {
  const height = Math.round(size * lead)
  const offset = (height - (ascender + descender) * size) / 2 + ascender * size
  return lines.flatMap((text, i) => (text === "" ? [] : [{ text, size, baseline: Math.round(top + i * height + offset), bold }]))
}

/**
 * Lay out a slide of `width` x `height`: the title (bold, at most three lines) from the top
 * margin, the body centred in the space below it (or in the whole frame without a title).
 * Sizes start from a fraction of the height and shrink until everything fits; at the smallest
 * sizes the body (then the title) is cut with an ellipsis.
 */
export const layoutSlide = (content: { readonly title: string; readonly body: string }, width: number, height: number): SlideLayout => {
  const marginX = Math.round(width * 0.07)
  const marginY = Math.round(height * 0.08)
  const maxWidth = (width - 2 * marginX) * widthSafety
  const room = height - 2 * marginY
  const hasTitle = content.title.trim() !== ""
  const hasBody = content.body.trim() !== ""
  const titleMin = Math.max(10, Math.round(height / 24))
  const bodyMin = Math.max(8, Math.round(height / 45))
  let titleSize = Math.max(titleMin, Math.round(height / 10))
  let bodySize = Math.max(bodyMin, Math.round(hasTitle ? height / 20 : height / 14))
  const gapOf = (size: number) => (hasTitle && hasBody ? Math.round(size * 0.9) : 0)

  let titleLines: Array<string> = []
  let bodyLines: Array<string> = []
  for (;;) {
    titleLines = hasTitle ? wrapText(content.title, titleSize, maxWidth, dejaVuSansBold) : []
    bodyLines = hasBody ? wrapText(content.body, bodySize, maxWidth, dejaVuSans) : []
    const total = titleLines.length * Math.round(titleSize * titleLead) + gapOf(titleSize) + bodyLines.length * Math.round(bodySize * bodyLead)
    const fits = total <= room
    if (fits && titleLines.length <= maxTitleLines) break
    if (titleLines.length > maxTitleLines && titleSize > titleMin) titleSize = shrink(titleSize, titleMin)
    else if (!fits && hasBody && bodySize > bodyMin) bodySize = shrink(bodySize, bodyMin)
    else if (!fits && titleSize > titleMin && hasTitle) titleSize = shrink(titleSize, titleMin)
    else {
      // Smallest sizes and still too much: cut the title to what fits, then the body to the rest.
      const titleLine = Math.round(titleSize * titleLead)
      titleLines = truncate(titleLines, Math.min(maxTitleLines, Math.floor(room / titleLine)), titleSize, maxWidth, dejaVuSansBold)
      const left = room - titleLines.length * titleLine - gapOf(titleSize)
      bodyLines = truncate(bodyLines, Math.floor(Math.max(0, left) / Math.round(bodySize * bodyLead)), bodySize, maxWidth, dejaVuSans)
      break
    }
  }

  const titleHeight = titleLines.length * Math.round(titleSize * titleLead)
  const bodyHeight = bodyLines.length * Math.round(bodySize * bodyLead)
  const gap = bodyLines.length > 0 && titleLines.length > 0 ? gapOf(titleSize) : 0
  const bodyArea = { top: marginY + titleHeight + gap, bottom: height - marginY }
  const bodyTop = Math.round(bodyArea.top + Math.max(0, bodyArea.bottom - bodyArea.top - bodyHeight) / 2)
  const ruleHeight = Math.max(2, Math.round(height / 180))
  const ruleWidth = Math.round(width * 0.1)
  return {
    lines: [...stack(titleLines, titleSize, titleLead, marginY, true), ...stack(bodyLines, bodySize, bodyLead, bodyTop, false)],
    rule:
      gap > 0
        ? { x: Math.round((width - ruleWidth) / 2), y: Math.round(marginY + titleHeight + gap / 2 - ruleHeight / 2), width: ruleWidth, height: ruleHeight }
        : undefined
  }
}

// ---------------------------------------------------------------------------------------------
// the command
// ---------------------------------------------------------------------------------------------

/** The font files drawn with; absent ones fall back to fontconfig's default sans. */
export interface SlideFonts {
  readonly regular: string | undefined
  readonly bold: string | undefined
}

/** Where Debian and most Linux distributions keep DejaVu Sans. */
export const defaultFontFiles: ReadonlyArray<SlideFonts> = [
  { regular: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", bold: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf" },
  { regular: "/usr/share/fonts/TTF/DejaVuSans.ttf", bold: "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf" },
  { regular: "/usr/share/fonts/dejavu/DejaVuSans.ttf", bold: "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf" }
]

/** The ffmpeg command of a slide and what it makes. */
export interface SlidePlan {
  readonly args: ReadonlyArray<string>
  /** The lines' text files, to write into ffmpeg's working directory first. */
  readonly textFiles: ReadonlyArray<TextFile>
  readonly width: number
  readonly height: number
  readonly mimeType: "image/png"
  readonly extension: "png"
}

/** The background when none is asked for: a dark blue gradient. */
export const defaultBackground: SlideBackground = { top: "#1f3b5c", bottom: "#0d1826" }

const rgb = (hex: string): readonly [number, number, number] => {
  const channel = (i: number) => Number.parseInt(hex.slice(i, i + 2), 16) || 0
  return [channel(1), channel(3), channel(5)]
}

const hexColour = (value: string): string => (/^#[0-9a-fA-F]{6}$/.test(value) ? `0x${value.slice(1).toLowerCase()}` : "0xffffff")

// A font path goes into the graph: only plain path characters are accepted.
const fontOption = (file: string | undefined): Array<string> => (file !== undefined && /^[A-Za-z0-9/._-]+$/.test(file) ? [`fontfile=${file}`] : [])

/**
 * The ffmpeg command drawing `spec` into a PNG at `outputPath`. Fails with the reason when
 * there is nothing to draw.
 */
export const slidePlan = (spec: SlideSpec, outputPath: string, fonts: SlideFonts): Either.Either<SlidePlan, string> => {
  const title = spec.title ?? ""
  const body = spec.body ?? spec.text ?? ""
  if (title.trim() === "" && body.trim() === "") return Either.left(`the slide has no text: give "text", "title" or "body"`)
  const width = spec.width ?? 1280
  const height = spec.height ?? 720
  const layout = layoutSlide({ title, body }, width, height)
  const colour = hexColour(spec.color ?? "#ffffff")
  // A soft shadow lifts light text off the background; under dark text it would only smudge.
  const [r, g, b] = rgb(spec.color ?? "#ffffff")
  const lightText = 0.2126 * r + 0.7152 * g + 0.0722 * b > 128
  const background = spec.background ?? defaultBackground
  const filters: Array<string> = ["format=rgb24"]
  if (typeof background !== "string") {
    // A vertical gradient: each channel interpolated from top to bottom (numbers only, no commas).
    const top = rgb(background.top)
    const bottom = rgb(background.bottom)
    const channel = (i: 0 | 1 | 2) => `${top[i]}+(${bottom[i] - top[i]})*Y/${Math.max(1, height - 1)}`
    filters.push(`geq=r=${channel(0)}:g=${channel(1)}:b=${channel(2)}`)
  }
  const textFiles: Array<TextFile> = []
  layout.lines.forEach((line, i) => {
    const name = `slide-${i}.txt`
    textFiles.push({ name, text: line.text })
    const shadow = Math.max(1, Math.round(line.size / 28))
    const shadowOptions = lightText ? ["shadowcolor=0x000000@0.35", `shadowx=${shadow}`, `shadowy=${shadow}`] : []
    filters.push(
      "drawtext=" +
        [
          ...fontOption(line.bold ? (fonts.bold ?? fonts.regular) : fonts.regular),
          `textfile=${name}`,
          "expansion=none",
          `fontsize=${line.size}`,
          `fontcolor=${colour}`,
          ...shadowOptions,
          "x=(w-text_w)/2",
          `y=${line.baseline}-ascent`
        ].join(":")
    )
  })
  if (layout.rule !== undefined) {
    const rule = layout.rule
    filters.push(`drawbox=x=${rule.x}:y=${rule.y}:w=${rule.width}:h=${rule.height}:color=${colour}@0.6:t=fill`)
  }
  const solid = typeof background === "string" ? hexColour(background) : hexColour(background.top)
  return Either.right({
    args: [
      ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y"],
      ...["-f", "lavfi", "-i", `color=c=${solid}:s=${width}x${height}:r=1:d=1,format=rgb24`],
      ...["-vf", filters.join(",")],
      ...["-frames:v", "1", "-c:v", "png", "-pix_fmt", "rgb24", "-f", "image2", "-update", "1", outputPath]
    ],
    textFiles,
    width,
    height,
    mimeType: "image/png",
    extension: "png"
  })
}
