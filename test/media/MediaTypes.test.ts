/**
 * The one media-type table, read both ways: a content type's extension (parameters ignored, `bin`
 * for file names when unknown) and a file extension's media type.
 */
import { describe, expect, it } from "@effect/vitest"
import * as MediaTypes from "../../src/media/MediaTypes.js"

describe("MediaTypes", () => {
  it("reads a content-type header's media type", () => {
    expect(MediaTypes.mediaTypeOf("Image/PNG; charset=binary")).toBe("image/png")
    expect(MediaTypes.mediaTypeOf(" ; x=y")).toBeUndefined()
    expect(MediaTypes.mediaTypeOf(undefined)).toBeUndefined()
  })

  it("gives a media type's usual extension", () => {
    expect(MediaTypes.extensionOf("image/jpeg")).toBe("jpg")
    expect(MediaTypes.extensionOf("video/mp4")).toBe("mp4")
    expect(MediaTypes.extensionOf("audio/mp4")).toBe("m4a")
    expect(MediaTypes.extensionOf("audio/x-wav")).toBe("wav")
    expect(MediaTypes.extensionOf("audio/opus")).toBe("opus")
    expect(MediaTypes.extensionOf("application/x-unknown")).toBeUndefined()
    expect(MediaTypes.extensionOf(undefined)).toBeUndefined()
  })

  it("names files: the usual extension of a content type, bin when unknown", () => {
    expect(MediaTypes.fileExtensionOf("audio/ogg; codecs=opus")).toBe("ogg")
    expect(MediaTypes.fileExtensionOf("audio/mpeg")).toBe("mp3")
    expect(MediaTypes.fileExtensionOf("application/octet-stream")).toBe("bin")
  })

  it("gives the media type a file extension usually means (the first row of the table for shared ones)", () => {
    expect(MediaTypes.mediaTypeOfExtension("/tmp/a.JPEG")).toBe("image/jpeg")
    expect(MediaTypes.mediaTypeOfExtension("a.jpg")).toBe("image/jpeg")
    expect(MediaTypes.mediaTypeOfExtension("a.webm")).toBe("video/webm")
    expect(MediaTypes.mediaTypeOfExtension("a.wav")).toBe("audio/wav")
    expect(MediaTypes.mediaTypeOfExtension("a.m4a")).toBe("audio/mp4")
    expect(MediaTypes.mediaTypeOfExtension("a.xyz")).toBeUndefined()
    expect(MediaTypes.mediaTypeOfExtension("noextension")).toBeUndefined()
  })
})
