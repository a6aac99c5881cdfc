/**
 * How the local services let ffmpeg and ffprobe read a file: with explicit protocol and format
 * whitelists, so that a file a client uploaded is read as the media it is and never as a list of
 * other things to read. Without them an uploaded HLS playlist (or a `concat` list) names local
 * files or URLs and ffmpeg reads those instead: a caller gets the media of any file the service
 * can read, learns from the errors whether a path exists, and a live playlist keeps ffmpeg
 * waiting for ever.
 *
 * Every input is read with `-protocol_whitelist file` (our own work files: nothing is piped in)
 * and `-format_whitelist` of the demuxers of self-contained media files (`mediaFormats`); an
 * input whose format the service forces itself (`-f lavfi` for generated sources, `-f s16le`
 * for raw PCM) is allowed that format only.
 *
 * @module
 */

/**
 * The demuxers of media files a service reads: containers, audio files and images that hold
 * their own data. Not among them: `hls`, `dash`, `concat` (lists of other files or URLs),
 * `lavfi` (filter graphs), network and device formats.
 */
export const mediaFormats: ReadonlyArray<string> = [
  // video containers (`mov` is mov,mp4,m4a,3gp,3g2,mj2; `matroska` is matroska,webm)
  "mov",
  "matroska",
  "avi",
  "flv",
  "mpegts",
  "mpeg",
  "asf",
  "ogg",
  // audio files
  "mp3",
  "wav",
  "w64",
  "flac",
  "aac",
  "aiff",
  "caf",
  "amr",
  // images (a still is read by `image2` when looped, by the `*_pipe` demuxers when probed)
  "image2",
  "png_pipe",
  "jpeg_pipe",
  "webp_pipe",
  "bmp_pipe",
  "tiff_pipe",
  "gif"
]

/** The input options that confine reading one input to local files of `formats`. */
export const inputPolicy = (formats: ReadonlyArray<string> = mediaFormats): ReadonlyArray<string> => [
  "-protocol_whitelist",
  "file",
  "-format_whitelist",
  formats.join(",")
]

/**
 * An ffmpeg command line with `inputPolicy` before each of its inputs (`-i`): `formats` for a
 * file whose format ffmpeg detects, the forced format alone for an input given `-f <format>`.
 * The rest of the arguments are kept as they are.
 */
export const guardInputs = (args: ReadonlyArray<string>, formats: ReadonlyArray<string> = mediaFormats): ReadonlyArray<string> => {
  const guarded: Array<string> = []
  // Where the options of the current input began: after the previous input's path.
  let optionsFrom = 0
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "-i" && i + 1 < args.length) {
      let forced: string | undefined
      for (let j = optionsFrom; j < i - 1; j++) {
        if (args[j] === "-f") forced = args[j + 1]
      }
      guarded.push(...inputPolicy(forced === undefined ? formats : [forced]), "-i", args[i + 1]!)
      i += 1
      // The next input's options start after this path.
      optionsFrom = i + 1
      continue
    }
    guarded.push(arg)
  }
  return guarded
}

/** ffprobe's arguments for reading `path` under `inputPolicy` (its input is the last argument). */
export const guardProbe = (args: ReadonlyArray<string>, formats: ReadonlyArray<string> = mediaFormats): ReadonlyArray<string> => [
  ...inputPolicy(formats),
  ...args
]

/**
 * Whether an engine's message says an input was refused by the whitelists (its format or a
 * protocol it named): the client's file is not media the service reads.
 */
export const refusedByPolicy = (stderr: string): boolean => /Format not on whitelist|Protocol '[^']*' not on whitelist/.test(stderr)

/**
 * Why a file the whitelists refused cannot be used, in words that tell nothing of what the file
 * names (the same answer whether the paths it lists exist or not).
 */
export const refusedReason = "its format is not one this service reads (playlists and other files that name other files or URLs are refused)"
