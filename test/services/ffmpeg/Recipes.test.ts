/**
 * The single-input jobs' ffmpeg commands as pure functions: audio extraction, frame grabs, the
 * typed filter steps, loudness measuring and conversion.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { Probe } from "../../../src/services/ffmpeg/Probe.js"
import { parseProbe } from "../../../src/services/ffmpeg/Probe.js"
import * as Recipes from "../../../src/services/ffmpeg/Recipes.js"
import * as Option from "effect/Option"

const clip: Probe = {
  format: "mov,mp4,m4a,3gp,3g2,mj2",
  size: 1000,
  bitRate: undefined,
  duration: 4,
  width: 320,
  height: 180,
  fps: 30,
  hasVideo: true,
  hasAudio: true,
  videoCodec: "h264",
  audioCodec: "aac",
  sampleRate: 44100,
  channels: 2
}

const speech: Probe = { ...clip, format: "wav", hasVideo: false, width: undefined, height: undefined, fps: undefined, videoCodec: undefined, sampleRate: 16000, channels: 1 }

const right = <A>(either: Either.Either<A, string>): A => {
  if (Either.isLeft(either)) throw new Error(either.left)
  return either.right
}

describe("Recipes", () => {
  it("extracts audio with a trim, codec, rate and channels", () => {
    const recipe = right(Recipes.extractAudio({ format: "mp3", start: 1, end: 3, sampleRate: 22050, channels: 1 }, "in.mp4", clip, "out.mp3"))
    expect(recipe.args).toEqual([
      ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", "1", "-t", "2", "-i", "in.mp4", "-vn", "-map", "0:a:0"],
      ...["-c:a", "libmp3lame", "-b:a", "192k", "-ar", "22050", "-ac", "1", "-f", "mp3", "out.mp3"]
    ])
    expect(recipe.mimeType).toBe("audio/mpeg")
    expect(Recipes.extractAudio({}, "in.mp4", { ...clip, hasAudio: false }, "out.wav")).toEqual(Either.left("the input has no audio stream"))
    expect(Either.isLeft(Recipes.extractAudio({ start: 5 }, "in.mp4", clip, "out.wav"))).toBe(true)
  })

  it("grabs a frame at a time, refusing times past the end", () => {
    const recipe = right(Recipes.extractFrame({ time: 1.5, format: "jpg", width: 160 }, "in.mp4", clip, "out.jpg"))
    expect(recipe.args).toEqual(expect.arrayContaining(["-ss", "1.5", "-frames:v", "1", "-vf", "scale=160:-2", "-c:v", "mjpeg"]))
    expect(recipe.mimeType).toBe("image/jpeg")
    expect(Recipes.extractFrame({ time: 4 }, "in.mp4", clip, "out.png")).toEqual(Either.left("time 4 s is past the end of the video (4 s)"))
  })

  it("upscales a picture with Lanczos to whole pixels, within the service's limits", () => {
    const picture: Probe = { ...clip, format: "png_pipe", duration: undefined, hasAudio: false, width: 40, height: 30 }
    const recipe = right(Recipes.upscale({ factor: 2.5 }, "in.png", picture, "out.png"))
    expect(recipe.args).toEqual(expect.arrayContaining(["-i", "in.png", "-frames:v", "1", "-vf", "scale=100:75:flags=lanczos", "-c:v", "png", "out.png"]))
    expect(recipe.mimeType).toBe("image/png")
    expect(right(Recipes.upscale({ factor: 2, format: "jpg" }, "in.jpg", picture, "out.jpg")).mimeType).toBe("image/jpeg")
    expect(Recipes.upscale({ factor: 8 }, "in.png", { ...picture, width: 1024, height: 8 }, "out.png")).toEqual(
      Either.left("8192x64 is more than this service renders (at most 4096 a side, 8294400 pixels)")
    )
    expect(Either.isLeft(Recipes.upscale({ factor: 2 }, "in.wav", speech, "out.png"))).toBe(true)
  })

  it("turns typed filter steps into one video and one audio chain", () => {
    const recipe = right(
      Recipes.filter(
        {
          operations: [
            { _tag: "trim", start: 1 },
            { _tag: "scale", width: 160 },
            { _tag: "rotate", degrees: 90 },
            { _tag: "grayscale" },
            { _tag: "speed", factor: 4 },
            { _tag: "fade", in: 0.1, out: 0.25 },
            { _tag: "volume", gain: 0.5 }
          ]
        },
        "in.mp4",
        clip,
        "out.mp4"
      )
    )
    const vf = recipe.args[recipe.args.indexOf("-vf") + 1]
    const af = recipe.args[recipe.args.indexOf("-af") + 1]
    expect(vf).toBe("scale=160:-2,transpose=1,hue=s=0,setpts=PTS/4,fade=t=in:st=0:d=0.1,fade=t=out:st=0.5:d=0.25")
    expect(af).toBe("atempo=2,atempo=2,afade=t=in:st=0:d=0.1,afade=t=out:st=0.5:d=0.25,volume=0.5")
    expect(recipe.args).toEqual(expect.arrayContaining(["-ss", "1", "-i", "in.mp4"]))
  })

  it("mutes, and refuses webm with h264", () => {
    const muted = right(Recipes.filter({ operations: [{ _tag: "mute" }] }, "in.mp4", clip, "out.mp4"))
    expect(muted.args).toContain("-an")
    expect(muted.args).not.toContain("0:a:0")
    expect(Either.isLeft(Recipes.filter({ operations: [{ _tag: "grayscale" }], output: { format: "webm", videoCodec: "h264" } }, "in", clip, "out"))).toBe(true)
  })

  it("measures loudness with denoise first, then normalises linearly with the measurement", () => {
    const spec = { format: "flac" as const, denoise: true, loudness: { targetLufs: -23 } }
    const measure = Recipes.measureLoudness(spec, "in.wav", -31.5)
    expect(measure[measure.indexOf("-af") + 1]).toBe("afftdn=nf=-31.5,loudnorm=I=-23:TP=-1.5:LRA=11:print_format=json")
    const stderr = `[Parsed_loudnorm_1 @ 0x1]\n{\n\t"input_i" : "-16.89",\n\t"input_tp" : "-3.79",\n\t"input_lra" : "0.00",\n\t"input_thresh" : "-26.89",\n\t"output_i" : "-15.99",\n\t"target_offset" : "-0.01"\n}\n`
    const measured = Recipes.parseLoudness(stderr)
    expect(measured).toEqual({ inputI: -16.89, inputTp: -3.79, inputLra: 0, inputThresh: -26.89, targetOffset: -0.01 })
    const recipe = right(Recipes.convertAudio(spec, "in.wav", speech, { loudness: measured, noiseFloor: -10 }, "out.flac"))
    expect(recipe.args[recipe.args.indexOf("-af") + 1]).toBe(
      "afftdn=nf=-20,loudnorm=I=-23:TP=-1.5:LRA=11:measured_I=-16.89:measured_TP=-3.79:measured_LRA=0:measured_thresh=-26.89:offset=-0.01:linear=true"
    )
    // loudnorm would hand on 192 kHz: the input's rate is kept.
    expect(recipe.args).toEqual(expect.arrayContaining(["-c:a", "flac", "-ar", "16000", "-f", "flac"]))
    expect(Recipes.parseLoudness(`{"input_i" : "-inf", "input_tp": "-inf", "input_lra": "0", "input_thresh": "-70", "target_offset": "0"}`)).toBeUndefined()
    expect(Recipes.convertAudio(spec, "in.wav", speech, {}, "out.flac")._tag).toBe("Left")
  })

  it("reads the noise floor astats measured, and keeps afftdn's floor in its range", () => {
    expect(Recipes.parseNoiseFloor("[Parsed_astats_0 @ 0x1] Noise floor dB: -26.053535\n")).toBeCloseTo(-26.05, 2)
    expect(Recipes.parseNoiseFloor("[Parsed_astats_0 @ 0x1] Noise floor dB: -inf\n")).toBeUndefined()
    expect(Recipes.denoiseFilter(-26.053535)).toBe("afftdn=nf=-26.054")
    expect(Recipes.denoiseFilter(-120)).toBe("afftdn=nf=-80")
    expect(Recipes.denoiseFilter(undefined)).toBe("afftdn=nf=-50")
  })

  it("picks a sample rate the codec takes", () => {
    expect(Recipes.outputSampleRate("opus", undefined, 44100, false)).toBe(48000)
    expect(Recipes.outputSampleRate("opus", 44100, 44100, false)).toBe(44100)
    expect(Recipes.outputSampleRate("wav", undefined, 44100, false)).toBeUndefined()
    expect(Recipes.outputSampleRate("wav", undefined, 44100, true)).toBe(44100)
  })

  it("reads ffprobe's JSON; still images are marked and have no duration; a zero-sized video stream does not count", () => {
    const png = Option.getOrThrow(
      parseProbe(JSON.stringify({ streams: [{ codec_type: "video", codec_name: "png", width: 160, height: 90 }], format: { format_name: "png_pipe" } }))
    )
    expect(png).toMatchObject({ hasVideo: true, hasAudio: false, width: 160, duration: undefined, still: true })
    for (const format of ["jpeg_pipe", "webp_pipe", "image2"]) {
      const still = parseProbe(JSON.stringify({ streams: [{ codec_type: "video", width: 16, height: 9 }], format: { format_name: format, duration: "0.04" } }))
      expect(Option.getOrThrow(still)).toMatchObject({ still: true, duration: undefined })
    }
    const broken = Option.getOrThrow(
      parseProbe(JSON.stringify({ streams: [{ codec_type: "video", codec_name: "png", width: 0, height: 0 }], format: { format_name: "png_pipe" } }))
    )
    expect(broken.hasVideo).toBe(false)
    const mp4 = Option.getOrThrow(
      parseProbe(
        JSON.stringify({
          streams: [
            { codec_type: "video", codec_name: "h264", width: 320, height: 180, avg_frame_rate: "30000/1001" },
            { codec_type: "audio", codec_name: "aac", sample_rate: "48000", channels: 2 }
          ],
          format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "2.000000", size: "1234" }
        })
      )
    )
    expect(mp4).toMatchObject({ duration: 2, fps: 29.97, sampleRate: 48000, size: 1234, hasAudio: true, still: false })
    expect(Option.isNone(parseProbe("not json"))).toBe(true)
  })
})
