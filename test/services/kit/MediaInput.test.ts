/** The input whitelists put before every input of an ffmpeg command line (a pure rewrite). */
import { describe, expect, it } from "@effect/vitest"
import * as MediaInput from "../../../src/services/kit/MediaInput.js"

const media = MediaInput.mediaFormats.join(",")

describe("MediaInput.guardInputs", () => {
  it("puts the file-only protocol and media-format whitelists before each input, keeping the rest", () => {
    expect(MediaInput.guardInputs(["-y", "-ss", "1", "-i", "a.mp4", "-loop", "1", "-i", "b.png", "-map", "0:a", "out.wav"])).toEqual([
      ...["-y", "-ss", "1"],
      ...["-protocol_whitelist", "file", "-format_whitelist", media, "-i", "a.mp4"],
      ...["-loop", "1", "-protocol_whitelist", "file", "-format_whitelist", media, "-i", "b.png"],
      ...["-map", "0:a", "out.wav"]
    ])
  })

  it("an input whose format is forced is allowed that format only; an output's -f does not count", () => {
    expect(MediaInput.guardInputs(["-f", "lavfi", "-i", "sine", "-f", "s16le", "-i", "raw", "-f", "wav", "out"])).toEqual([
      ...["-f", "lavfi", "-protocol_whitelist", "file", "-format_whitelist", "lavfi", "-i", "sine"],
      ...["-f", "s16le", "-protocol_whitelist", "file", "-format_whitelist", "s16le", "-i", "raw"],
      ...["-f", "wav", "out"]
    ])
  })

  it("lists no demuxer that reads other files: no hls, dash, concat or lavfi for uploads", () => {
    for (const format of ["hls", "applehttp", "dash", "concat", "lavfi", "tee", "sdp", "rtsp"]) {
      expect(MediaInput.mediaFormats).not.toContain(format)
    }
  })
})
