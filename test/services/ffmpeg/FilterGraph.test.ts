/**
 * The composition planner as a pure function: the text of the filter graph and the arguments
 * for each layout, overlay kind and audio mode, the problems it reports, and that nothing a
 * caller writes ends up as filter syntax.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Anchor, Composition, type CompositionInput } from "../../../src/domain/Composition.js"
import {
  colour,
  type CompositionPlan,
  compositionPlan,
  compositionSources,
  type InputFile,
  num,
  trackRoles
} from "../../../src/services/ffmpeg/FilterGraph.js"

const video = (path: string, duration = 2, hasAudio = true): InputFile => ({
  path,
  facts: { duration, width: 320, height: 180, hasVideo: true, hasAudio }
})

const inputs = new Map<string, InputFile>([
  ["a", video("/in/a.mp4")],
  ["b", video("/in/b.mp4")],
  ["c", video("/in/c.mp4")],
  ["silent", video("/in/silent.mp4", 2, false)],
  ["long", video("/in/long.mp4", 6)],
  ["logo", { path: "/in/logo.png", facts: { width: 160, height: 90, hasVideo: true, hasAudio: false, still: true } }],
  ["slide1", { path: "/in/slide1.png", facts: { width: 1280, height: 720, hasVideo: true, hasAudio: false, still: true } }],
  ["slide2", { path: "/in/slide2.jpg", facts: { width: 640, height: 480, hasVideo: true, hasAudio: false, still: true } }],
  ["slide3", { path: "/in/slide3.webp", facts: { width: 1280, height: 720, hasVideo: true, hasAudio: false, still: true } }],
  ["raw", { path: "/in/raw.h264", facts: { width: 320, height: 180, hasVideo: true, hasAudio: false } }],
  ["voice", { path: "/in/voice.wav", facts: { duration: 3, hasVideo: false, hasAudio: true } }],
  ["music", { path: "/in/music.mp3", facts: { duration: 10, hasVideo: false, hasAudio: true } }]
])

const decode = Schema.decodeUnknownSync(Composition)

const plan = (composition: CompositionInput): CompositionPlan => {
  const result = compositionPlan(decode(composition), inputs, "/out/result.mp4")
  if (Either.isLeft(result)) throw new Error(`unexpected issues: ${result.left.join("; ")}`)
  return result.right
}

const issues = (composition: CompositionInput): ReadonlyArray<string> => {
  const result = compositionPlan(decode(composition), inputs, "/out/result.mp4")
  if (Either.isRight(result)) throw new Error("expected issues")
  return result.left
}

const chains = (p: CompositionPlan) => p.graph.split(";")
const small = { width: 320, height: 180 }

describe("FilterGraph: layouts", () => {
  it("concat without a transition uses the concat filter with each clip's video and audio", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "b" }], output: small })
    expect(p.graph).toContain("[v0][a2][v1][a3]concat=n=2:v=1:a=1[v4][a5]")
    expect(p.duration).toBe(4)
    expect(chains(p)[0]).toBe(
      "[0:v]setpts=PTS-STARTPTS,fps=30,scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2:color=black," +
        "setsar=1,format=yuv420p,tpad=stop_mode=clone:stop_duration=2,trim=duration=2[v0]"
    )
    expect(p.graph).toContain("[0:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad=whole_dur=2,atrim=duration=2[a2]")
    expect(p.args.slice(5, 13)).toEqual(["-t", "2", "-i", "/in/a.mp4", "-t", "2", "-i", "/in/b.mp4"])
  })

  it("concat with a transition chains xfade and acrossfade at the overlapping offsets", () => {
    const p = plan({
      clips: [{ src: "a" }, { src: "b" }, { src: "c" }],
      layout: { _tag: "concat", transition: { kind: "wipeleft", duration: 0.5 } },
      output: small
    })
    expect(p.graph).toContain("[v0][v1]xfade=transition=wipeleft:duration=0.5:offset=1.5[v6]")
    expect(p.graph).toContain("[a3][a4]acrossfade=d=0.5[a7]")
    expect(p.graph).toContain("[v6][v2]xfade=transition=wipeleft:duration=0.5:offset=3[v8]")
    expect(p.graph).toContain("[a7][a5]acrossfade=d=0.5[a9]")
    expect(p.duration).toBe(5)
    expect(p.graph).toContain("[v8]trim=duration=5,setpts=PTS-STARTPTS[vout]")
    expect(p.graph).toContain("[a9]apad,atrim=duration=5,asetpts=PTS-STARTPTS[aout]")
  })

  it("trims clips with input seeking and uses the trimmed length", () => {
    const p = plan({ clips: [{ src: "long", start: 1.25, end: 4 }, { src: "a", end: 1 }], output: small })
    expect(p.args).toEqual(expect.arrayContaining(["-ss", "1.25", "-t", "2.75", "-i", "/in/long.mp4"]))
    const a = p.args.indexOf("/in/a.mp4")
    expect(p.args.slice(a - 3, a + 1)).toEqual(["-t", "1", "-i", "/in/a.mp4"])
    expect(p.duration).toBe(3.75)
  })

  it("side-by-side fits each clip into an equal cell and stacks them horizontally, as long as the longest", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "long" }], layout: { _tag: "side-by-side" }, output: small })
    expect(p.graph).toContain("scale=160:180:force_original_aspect_ratio=decrease,pad=160:180:(ow-iw)/2:(oh-ih)/2:color=black")
    expect(p.graph).toContain("tpad=stop_mode=clone:stop_duration=6,trim=duration=6[v0]")
    expect(p.graph).toContain("[v0][v1]hstack=inputs=2[")
    expect(p.graph).toContain("amix=inputs=2:duration=longest:normalize=1")
    expect(p.duration).toBe(6)
  })

  it("grid places cells with xstack, fills empty cells black and pads to the frame", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "b" }, { src: "c" }], layout: { _tag: "grid", columns: 2 }, output: { width: 640, height: 360 } })
    expect(p.graph).toContain("scale=320:180:force_original_aspect_ratio=decrease")
    expect(p.graph).toContain("xstack=inputs=3:layout=0_0|320_0|0_180:fill=black")
    expect(p.graph).not.toContain("hstack")
    // 640x360 splits evenly: no padding step needed.
    expect(p.graph).not.toContain("pad=640:360")
    const odd = plan({ clips: [{ src: "a" }, { src: "b" }, { src: "c" }], layout: { _tag: "grid", columns: 2 }, output: small })
    expect(odd.graph).toContain("scale=160:90:force_original_aspect_ratio=decrease")
    const uneven = plan({ clips: [{ src: "a" }, { src: "b" }, { src: "c" }], layout: { _tag: "grid", columns: 3 }, output: { width: 640, height: 360 } })
    expect(uneven.graph).toContain("hstack=inputs=3")
    expect(uneven.graph).toContain("pad=640:360:(ow-iw)/2:(oh-ih)/2:color=black")
  })

  it("picture-in-picture overlays insets at the anchor, stacking further insets away from the edge", () => {
    const p = plan({
      clips: [{ src: "long" }, { src: "a" }, { src: "b" }],
      layout: { _tag: "picture-in-picture", scale: 0.25, position: { anchor: "bottom-right", margin: 10 } },
      output: { width: 640, height: 360 }
    })
    expect(p.graph).toContain("scale=160:90:force_original_aspect_ratio=decrease,pad=160:90:")
    expect(p.graph).toMatch(/overlay=x=W-w-10:y=H-h-10:eof_action=pass\[/)
    expect(p.graph).toMatch(/overlay=x=W-w-10:y=H-h-10-100:eof_action=pass\[/)
    expect(p.duration).toBe(6)
    // Only the main clip's sound is kept.
    expect(p.graph).toContain("[0:a]")
    expect(p.graph).not.toContain("[1:a]")
  })

  it("picture-in-picture with x/y places the inset at those pixels", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "b" }], layout: { _tag: "picture-in-picture", position: { x: 12, y: 34 } }, output: small })
    expect(p.graph).toContain("overlay=x=12:y=34:eof_action=pass")
  })
})

describe("FilterGraph: still images and clip durations", () => {
  it("an image clip is looped at the output frame rate for its duration, letterboxed, with silence for sound", () => {
    const p = plan({ clips: [{ src: "slide2", duration: 3 }], output: { ...small, fps: 25 } })
    expect(p.args.slice(5, 13)).toEqual(["-loop", "1", "-framerate", "25", "-t", "3", "-i", "/in/slide2.jpg"])
    expect(chains(p)[0]).toBe(
      "[0:v]setpts=PTS-STARTPTS,fps=25,scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2:color=black," +
        "setsar=1,format=yuv420p,tpad=stop_mode=clone:stop_duration=3,trim=duration=3[v0]"
    )
    expect(p.graph).toContain("anullsrc=r=48000:cl=stereo,atrim=duration=3[a1]")
    expect(p.graph).not.toContain("[0:a]")
    expect(p.duration).toBe(3)
  })

  it("image clips concatenate with a fade: clips of d1+t, d2+t, d3 make d1+d2+d3 seconds", () => {
    const [d1, d2, d3, t] = [4, 3, 2.5, 0.5]
    const p = plan({
      clips: [
        { src: "slide1", duration: d1 + t },
        { src: "slide2", duration: d2 + t },
        { src: "slide3", duration: d3 }
      ],
      layout: { _tag: "concat", transition: { kind: "fade", duration: t } },
      output: { width: 640, height: 360, fps: 25 }
    })
    expect(p.duration).toBe(d1 + d2 + d3)
    expect(p.args).toEqual(expect.arrayContaining(["-loop", "1", "-framerate", "25", "-t", "4.5", "-i", "/in/slide1.png"]))
    expect(p.args).toEqual(expect.arrayContaining(["-loop", "1", "-framerate", "25", "-t", "3.5", "-i", "/in/slide2.jpg"]))
    expect(p.args).toEqual(expect.arrayContaining(["-loop", "1", "-framerate", "25", "-t", "2.5", "-i", "/in/slide3.webp"]))
    expect(p.graph).toContain("xfade=transition=fade:duration=0.5:offset=4[")
    expect(p.graph).toContain("xfade=transition=fade:duration=0.5:offset=7[")
    expect(p.graph.match(/acrossfade=d=0\.5/g)?.length).toBe(2)
    expect(p.graph).toContain(`trim=duration=${d1 + d2 + d3},setpts=PTS-STARTPTS[vout]`)
  })

  it("images and videos mix in one concat", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "logo", duration: 1.5 }], output: small })
    expect(p.graph).toContain("concat=n=2:v=1:a=1")
    expect(p.duration).toBe(3.5)
  })

  it("duration on a video trims it, or holds its last frame (and pads its sound) when longer than the video", () => {
    const cut = plan({ clips: [{ src: "long", start: 1, duration: 2.5 }], output: small })
    expect(cut.args.slice(5, 11)).toEqual(["-ss", "1", "-t", "2.5", "-i", "/in/long.mp4"])
    expect(cut.duration).toBe(2.5)
    const held = plan({ clips: [{ src: "a", start: 0.5, duration: 4 }], output: small })
    // Only 1.5 s are read; the clip lasts 4 s.
    expect(held.args.slice(5, 11)).toEqual(["-ss", "0.5", "-t", "1.5", "-i", "/in/a.mp4"])
    expect(held.graph).toContain("tpad=stop_mode=clone:stop_duration=4,trim=duration=4[v0]")
    expect(held.graph).toContain("apad=whole_dur=4,atrim=duration=4")
    expect(held.duration).toBe(4)
    const raw = plan({ clips: [{ src: "raw", duration: 2 }], output: small })
    expect(raw.args.slice(5, 9)).toEqual(["-t", "2", "-i", "/in/raw.h264"])
  })
})

describe("FilterGraph: overlays", () => {
  it("an image overlay is looped for the whole video, sized, faded and enabled in its window at its anchor", () => {
    const p = plan({
      clips: [{ src: "a" }, { src: "b" }],
      overlays: [{ _tag: "image", src: "logo", width: 80, position: { anchor: "top-right", margin: 10 }, start: 1, end: 3, fadeIn: 0.5, fadeOut: 0.25 }],
      output: small
    })
    expect(p.args).toEqual(expect.arrayContaining(["-loop", "1", "-framerate", "30", "-t", "4", "-i", "/in/logo.png"]))
    expect(p.graph).toContain("[2:v]scale=80:-1,format=rgba,fade=t=in:st=1:d=0.5:alpha=1,fade=t=out:st=2.75:d=0.25:alpha=1[o")
    expect(p.graph).toMatch(/overlay=x=W-w-10:y=10:eof_action=pass:enable='between\(t,1,3\)'\[/)
  })

  it("places anchors on both axes", () => {
    const positions: ReadonlyArray<readonly [Anchor, string]> = [
      ["top-left", "x=5:y=5"],
      ["top", "x=(W-w)/2:y=5"],
      ["top-right", "x=W-w-5:y=5"],
      ["left", "x=5:y=(H-h)/2"],
      ["center", "x=(W-w)/2:y=(H-h)/2"],
      ["right", "x=W-w-5:y=(H-h)/2"],
      ["bottom-left", "x=5:y=H-h-5"],
      ["bottom", "x=(W-w)/2:y=H-h-5"],
      ["bottom-right", "x=W-w-5:y=H-h-5"]
    ]
    for (const [anchor, expected] of positions) {
      const p = plan({
        clips: [{ src: "a" }],
        overlays: [{ _tag: "image", src: "logo", position: { anchor, margin: 5 } }],
        output: small
      })
      expect(p.graph).toContain(`overlay=${expected}:eof_action=pass`)
    }
  })

  it("a video overlay is shifted to its start and cut to its window", () => {
    const p = plan({
      clips: [{ src: "long" }],
      overlays: [{ _tag: "video", src: "a", height: 60, position: { x: 10, y: 20 }, start: 2.5, end: 4 }],
      output: small
    })
    expect(p.args).toEqual(expect.arrayContaining(["-t", "1.5", "-i", "/in/a.mp4"]))
    expect(p.graph).toContain("[1:v]setpts=PTS-STARTPTS,fps=30,scale=-1:60,format=rgba,trim=duration=1.5,setpts=PTS+2.5/TB[o")
    expect(p.graph).toContain("overlay=x=10:y=20:eof_action=pass:enable='between(t,2.5,4)'")
  })

  it("text goes into a text file read with expansion off; its content never enters the graph", () => {
    const hostile = "pwned'[0:v]drawtext=text=x;[x]null[y] %{localtime} \\: end"
    const p = plan({
      clips: [{ src: "a" }],
      overlays: [{ _tag: "text", text: hostile, fontSize: 24, color: "#FFCC00", box: "black", start: 0.5, end: 1.5, fadeIn: 0.25, fadeOut: 0.25 }],
      output: small
    })
    expect(p.textFiles).toEqual([{ name: "text-0.txt", text: hostile }])
    expect(p.graph).not.toContain("pwned")
    expect(p.graph).not.toContain("localtime")
    expect(p.graph).toContain(
      "drawtext=textfile=text-0.txt:expansion=none:fontsize=24:fontcolor=0xffcc00:box=1:boxcolor=black:boxborderw=8:" +
        "x=(w-text_w)/2:y=h-text_h-20:alpha='max(0,min(min(1,(t-0.5)/0.25),(1.5-t)/0.25))':enable='between(t,0.5,1.5)'"
    )
  })

  it("several overlays chain in order", () => {
    const p = plan({
      clips: [{ src: "a" }],
      overlays: [
        { _tag: "image", src: "logo" },
        { _tag: "text", text: "one" },
        { _tag: "text", text: "two", position: { anchor: "top", margin: 4 } }
      ],
      output: small
    })
    expect(p.textFiles.map((file) => file.name)).toEqual(["text-0.txt", "text-1.txt"])
    const overlayAt = p.graph.indexOf("overlay=")
    const first = p.graph.indexOf("textfile=text-0.txt")
    const second = p.graph.indexOf("textfile=text-1.txt")
    expect(overlayAt).toBeGreaterThan(0)
    expect(first).toBeGreaterThan(overlayAt)
    expect(second).toBeGreaterThan(first)
    expect(p.graph).toContain("textfile=text-1.txt:expansion=none:fontsize=12:fontcolor=white:x=(w-text_w)/2:y=4:")
  })
})

describe("FilterGraph: audio", () => {
  it("keep: the clips' own sound, silence for a clip without audio", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "silent" }], output: small })
    expect(p.graph).toContain("anullsrc=r=48000:cl=stereo,atrim=duration=2[a3]")
    expect(p.graph).not.toContain("[1:a]")
    expect(p.graph).not.toContain("amix")
  })

  it("replace: only the tracks; the clips' sound is not read", () => {
    const p = plan({ clips: [{ src: "a" }, { src: "b" }], audio: { mode: "replace", tracks: [{ src: "voice", start: 1.5, volume: 0.8 }] }, output: small })
    expect(p.graph).not.toContain("[0:a]")
    expect(p.graph).not.toContain("[1:a]")
    expect(p.graph).toContain("concat=n=2:v=1:a=0")
    expect(p.graph).toContain(
      "[2:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,volume=0.8,adelay=delays=1500:all=1,apad,atrim=duration=4[t"
    )
  })

  it("mix: the clips' sound and every track, unnormalised", () => {
    const p = plan({
      clips: [{ src: "a" }],
      audio: { mode: "mix", tracks: [{ src: "voice" }, { src: "music", volume: 0.3 }] },
      output: small
    })
    expect(p.graph).toMatch(/\[a\d+\]\[t\d+\]\[t\d+\]amix=inputs=3:duration=longest:normalize=0\[/)
    expect(p.graph).toContain("volume=0.3")
  })

  it("duck with a narration and a music track: the narration keys a sidechain compressor on the music and the clips' sound, then is mixed on top", () => {
    const p = plan({
      clips: [{ src: "a" }, { src: "b" }],
      audio: { mode: "duck", tracks: [{ src: "voice" }, { src: "music", volume: 0.5 }] },
      output: small
    })
    const split = /\[(t\d+)\]asplit=2\[(k\d+)\]\[(n\d+)\]/.exec(p.graph)
    expect(split).not.toBeNull()
    const [, , key, voice] = split!
    expect(p.graph).toMatch(new RegExp(`\\[a\\d+\\]\\[t\\d+\\]amix=inputs=2:duration=longest:normalize=0\\[(a\\d+)\\]`))
    expect(p.graph).toMatch(new RegExp(`\\[a\\d+\\]\\[${key}\\]sidechaincompress=threshold=0\\.02:ratio=20:attack=10:release=600:level_sc=2\\[a\\d+\\]`))
    expect(p.graph).toMatch(new RegExp(`\\[a\\d+\\]\\[${voice}\\]amix=inputs=2:duration=first:normalize=0\\[a\\d+\\]`))
  })
})

describe("FilterGraph: ducking roles", () => {
  it("without roles every track but the last is a voice; a single track is a voice", () => {
    expect(trackRoles([{}])).toEqual(["voice"])
    expect(trackRoles([{}, {}])).toEqual(["voice", "bed"])
    expect(trackRoles([{}, {}, {}, {}])).toEqual(["voice", "voice", "voice", "bed"])
    expect(trackRoles([])).toEqual([])
  })

  it("with roles: marked tracks keep theirs; the rest are voices when a bed is marked, beds otherwise", () => {
    expect(trackRoles([{ role: "bed" }, {}, {}])).toEqual(["bed", "voice", "voice"])
    expect(trackRoles([{}, { role: "voice" }, {}])).toEqual(["bed", "voice", "bed"])
    expect(trackRoles([{ role: "voice" }, { role: "bed" }, {}])).toEqual(["voice", "bed", "voice"])
    expect(trackRoles([{ role: "bed" }, { role: "bed" }])).toEqual(["bed", "bed"])
  })

  it("duck with several narrations at their starts and one music track: the narrations together key the compressor", () => {
    const p = plan({
      clips: [{ src: "long" }],
      audio: {
        mode: "duck",
        tracks: [{ src: "voice", start: 0.5 }, { src: "voice", start: 3.25 }, { src: "music", volume: 0.25 }]
      },
      output: small
    })
    expect(p.graph).toContain("adelay=delays=500:all=1")
    expect(p.graph).toContain("adelay=delays=3250:all=1")
    const voices = /\[(t\d+)\]\[(t\d+)\]amix=inputs=2:duration=longest:normalize=0\[(a\d+)\]/.exec(p.graph)
    expect(voices).not.toBeNull()
    const [, first, second, narration] = voices!
    expect(p.graph).toMatch(new RegExp(`\\[${first}\\][^;]*\\[${second}\\]`))
    const split = new RegExp(`\\[${narration}\\]asplit=2\\[(k\\d+)\\]\\[(n\\d+)\\]`).exec(p.graph)
    expect(split).not.toBeNull()
    const [, key, voice] = split!
    const music = /\[(t\d+)\]$/.exec(chains(p).find((chain) => chain.includes("volume=0.25")) ?? "")?.[1]
    expect(music).toBeDefined()
    // The bed is the clip's own sound and the music, compressed by the key, with the voices on top.
    const bed = new RegExp(`\\[(a\\d+)\\]\\[${music}\\]amix=inputs=2:duration=longest:normalize=0\\[(a\\d+)\\]`).exec(p.graph)
    expect(bed).not.toBeNull()
    expect(p.graph).toMatch(new RegExp(`\\[${bed![2]}\\]\\[${key}\\]sidechaincompress=threshold=0\\.02:ratio=20:attack=10:release=600:level_sc=2\\[a\\d+\\]`))
    expect(p.graph).toMatch(new RegExp(`\\[a\\d+\\]\\[${voice}\\]amix=inputs=2:duration=first:normalize=0\\[a\\d+\\]`))
  })

  it("duck with explicit roles, and without any voice: refused", () => {
    const p = plan({
      clips: [{ src: "a" }],
      audio: { mode: "duck", tracks: [{ src: "music", role: "bed" }, { src: "voice" }] },
      output: small
    })
    // The voice is input 2 (after the clip and the music): it is what is split into the key.
    expect(p.graph).toMatch(/\[2:a\][^;]*\[(t\d+)\];.*\[\1\]asplit=2/)
    expect(issues({ clips: [{ src: "a" }], audio: { mode: "duck", tracks: [{ src: "music", role: "bed" }] }, output: small })[0]).toContain(
      'audio mode "duck" needs a voice track'
    )
  })
})

describe("FilterGraph: output", () => {
  it("h264/aac in mp4 by default, with faststart", () => {
    const p = plan({ clips: [{ src: "a" }], output: small })
    expect(p.args.slice(-21)).toEqual([
      ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"],
      ...["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"],
      ...["-movflags", "+faststart", "-f", "mp4", "/out/result.mp4"]
    ])
    expect(p.args).toEqual(expect.arrayContaining(["-map", "[vout]", "-map", "[aout]", "-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"]))
    expect(p.args.slice(-3)).toEqual(["-f", "mp4", "/out/result.mp4"])
    expect(p.mimeType).toBe("video/mp4")
  })

  it("vp9/opus in webm, mp3 in mkv, at the asked frame rate", () => {
    const webm = plan({ clips: [{ src: "a" }], output: { ...small, format: "webm", videoCodec: "vp9", audioCodec: "opus", fps: 25 } })
    expect(webm.args).toEqual(expect.arrayContaining(["-c:v", "libvpx-vp9", "-c:a", "libopus", "-f", "webm"]))
    expect(webm.graph).toContain("fps=25,")
    expect(webm.mimeType).toBe("video/webm")
    const mkv = plan({ clips: [{ src: "a" }], output: { ...small, format: "mkv", audioCodec: "mp3" } })
    expect(mkv.args).toEqual(expect.arrayContaining(["-c:a", "libmp3lame", "-f", "matroska"]))
    expect(mkv.extension).toBe("mkv")
  })
})

describe("FilterGraph: problems", () => {
  it("reports every problem it finds, naming the piece", () => {
    expect(issues({ clips: [{ src: "nope" }], output: small })).toEqual(['clip 1 ("nope"): no input with this name was uploaded'])
    expect(issues({ clips: [{ src: "voice" }], output: small })[0]).toContain("has no video stream")
    expect(issues({ clips: [{ src: "logo" }], output: small })).toEqual(['clip 1 ("logo"): is a still image: give the clip a "duration" in seconds'])
    expect(issues({ clips: [{ src: "logo", start: 1, duration: 2 }], output: small })[0]).toContain('is a still image: it takes "duration", not "start" or "end"')
    expect(issues({ clips: [{ src: "a", end: 1, duration: 1 }], output: small })[0]).toContain('give "end" or "duration", not both')
    expect(issues({ clips: [{ src: "raw" }], output: small })[0]).toContain('has no duration ffprobe can tell (give the clip a "duration")')
    expect(
      issues({
        clips: [{ src: "slide1", duration: 2 }, { src: "slide2", duration: 0.75 }, { src: "slide3", duration: 2 }],
        layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
        output: small
      })
    ).toEqual(["clip 2: lasts 0.75 s, too short for a 0.5 s transition on both ends"])
    expect(issues({ clips: [{ src: "a", start: 3 }], output: small })[0]).toContain("starts at 3 s but the source lasts 2 s")
    expect(
      issues({ clips: [{ src: "a" }, { src: "b" }, { src: "c" }], layout: { _tag: "concat", transition: { kind: "fade", duration: 1.5 } }, output: small })
    ).toEqual(["clip 2: lasts 2 s, too short for a 1.5 s transition on both ends"])
    expect(
      issues({ clips: [{ src: "a" }, { src: "long" }], layout: { _tag: "concat", transition: { kind: "fade", duration: 2 } }, output: small })
    ).toEqual(["clip 1: lasts 2 s, too short for a 2 s transition"])
    expect(issues({ clips: [{ src: "a" }], output: { width: 321, height: 180 } })[0]).toContain("must be even")
    expect(issues({ clips: [{ src: "a" }], output: { ...small, format: "webm" } })[0]).toContain('"webm" takes videoCodec "vp9" and audioCodec "opus"')
    expect(issues({ clips: [{ src: "a" }], audio: { mode: "keep", tracks: [{ src: "voice" }] }, output: small })[0]).toContain('use "mix"')
    expect(issues({ clips: [{ src: "a" }], audio: { mode: "replace" }, output: small })[0]).toContain("needs at least one track")
    expect(issues({ clips: [{ src: "a" }], audio: { mode: "mix", tracks: [{ src: "voice", start: 5 }] }, output: small })[0]).toContain("starts at 5 s")
    expect(issues({ clips: [{ src: "a" }], overlays: [{ _tag: "image", src: "logo", start: 2 }], output: small })[0]).toContain(
      "starts at 2 s but the video lasts 2 s"
    )
    expect(issues({ clips: [{ src: "a" }], overlays: [{ _tag: "image", src: "logo", fadeIn: 1.5, fadeOut: 1 }], output: small })[0]).toContain(
      "fades"
    )
    expect(issues({ clips: [{ src: "a" }], overlays: [{ _tag: "text", text: "  " }], output: small })[0]).toContain("empty")
    expect(issues({ clips: [{ src: "a" }], overlays: [{ _tag: "image", src: "ghost" }], output: small })[0]).toContain(
      'overlay 1 (image) "ghost": no input'
    )
    expect(issues({ clips: [{ src: "a" }], layout: { _tag: "picture-in-picture" }, output: small })[0]).toContain("at least two clips")
  })
})

describe("FilterGraph: helpers", () => {
  it("formats numbers without exponents or trailing zeros", () => {
    expect(num(1.5)).toBe("1.5")
    expect(num(2)).toBe("2")
    expect(num(0.1 + 0.2)).toBe("0.3")
    expect(num(1e-7)).toBe("0")
    expect(num(-0)).toBe("0")
    expect(num(Number.POSITIVE_INFINITY)).toBe("0")
    expect(num(1234.5678)).toBe("1234.568")
  })

  it("turns schema colours into ffmpeg colours", () => {
    expect(colour("#A0B1C2")).toBe("0xa0b1c2")
    expect(colour("Red")).toBe("red")
    expect(colour("red:enable=0")).toBe("white")
  })

  it("lists each source once: clips, image and video overlays, tracks", () => {
    expect(
      compositionSources({
        clips: [{ src: "a" }, { src: "b" }, { src: "a" }],
        overlays: [{ _tag: "image", src: "logo" }, { _tag: "text" }, { _tag: "video", src: "b" }],
        audio: { tracks: [{ src: "voice" }] }
      })
    ).toEqual(["a", "b", "logo", "voice"])
  })
})
