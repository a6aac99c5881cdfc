/**
 * The ambient pad's ffmpeg command as a pure function: a formula of numbers only, the same for
 * the same seed, different for another; fades fitted to the duration.
 */
import { describe, expect, it } from "@effect/vitest"
import { ambientPlan, padExpression, random } from "../../../src/services/ffmpeg/Ambient.js"

const source = (args: ReadonlyArray<string>): string => args[args.indexOf("-i") + 1] ?? ""
const filters = (args: ReadonlyArray<string>): string => args[args.indexOf("-af") + 1] ?? ""

describe("Ambient", () => {
  it("synthesises with aevalsrc at 8 kHz for the duration, then resamples, echoes, fades and trims", () => {
    const p = ambientPlan({ duration: 12 }, "/out/pad.wav")
    expect(source(p.args)).toMatch(/^aevalsrc=exprs=.+:s=8000:d=12$/)
    expect(filters(p.args)).toBe(
      "aresample=48000,pan=stereo|c0=c0|c1=c0,aecho=0.9:0.9:110|190:0.3|0.2,adelay=delays=0|12,lowpass=f=2400," +
        "afade=t=in:st=0:d=3,afade=t=out:st=9:d=3,atrim=duration=12"
    )
    expect(p.args.slice(-9)).toEqual(["-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2", "-f", "wav", "/out/pad.wav"])
    expect([p.duration, p.mimeType, p.extension]).toEqual([12, "audio/wav", "wav"])
    // Short pads fade over a quarter of their length each way.
    expect(filters(ambientPlan({ duration: 2 }, "/out/pad.wav").args)).toContain("afade=t=in:st=0:d=0.5,afade=t=out:st=1.5:d=0.5")
  })

  it("the formula holds numbers, t and a few functions only (nothing for the filter parser to split)", () => {
    for (const mood of ["calm", "dark", "bright"] as const) {
      const expression = padExpression(mood, 7, 0.5)
      expect(expression).toMatch(/^[0-9.+\-*/()tPIsinco]+$/)
      expect(expression.match(/sin\(2\*PI\*\d/g)?.length).toBeGreaterThanOrEqual(20)
    }
  })

  it("is the same for the same seed and differs with the seed and the mood", () => {
    expect(padExpression("calm", 3, 0.5)).toBe(padExpression("calm", 3, 0.5))
    expect(padExpression("calm", 3, 0.5)).not.toBe(padExpression("calm", 4, 0.5))
    expect(padExpression("calm", 3, 0.5)).not.toBe(padExpression("dark", 3, 0.5))
    const next = random(42)
    const values = Array.from({ length: 100 }, next)
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
    expect(new Set(values).size).toBe(100)
  })

  it("scales the peak by the volume", () => {
    const quiet = ambientPlan({ duration: 5, volume: 0.3, seed: 1 }, "/o.wav")
    const loud = ambientPlan({ duration: 5, volume: 0.9, seed: 1 }, "/o.wav")
    expect(source(quiet.args)).toMatch(/^aevalsrc=exprs=0\.1\*/)
    expect(source(loud.args)).toMatch(/^aevalsrc=exprs=0\.3\*/)
  })
})
