/**
 * The in-house JSON Schema checker: each keyword it reads, `$ref`s into an OpenAPI document and
 * `$defs`, the messages of unions, defaults, and that what it does not know never refuses.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import { compile, withRequiredDefaults } from "../../src/provider/InputSchema.js"
import { spec } from "../support/Prism.js"

const check = (schema: unknown, value: unknown) => compile(schema).check(value)

describe("InputSchema keywords", () => {
  it("type: each JSON type, integer apart from number, arrays of types, nullable", () => {
    expect(check({ type: "string" }, 1)).toEqual(["input: must be a string"])
    expect(check({ type: "integer" }, 1.5)).toEqual(["input: must be an integer"])
    expect(check({ type: "integer" }, 2)).toEqual([])
    expect(check({ type: "number" }, 1.5)).toEqual([])
    expect(check({ type: "boolean" }, "true")).toEqual(["input: must be a boolean"])
    expect(check({ type: "object" }, [])).toEqual(["input: must be an object"])
    expect(check({ type: "array" }, {})).toEqual(["input: must be an array"])
    expect(check({ type: ["string", "null"] }, null)).toEqual([])
    expect(check({ type: ["string", "integer"] }, true)).toEqual(["input: must be a string or an integer"])
    expect(check({ type: "string", nullable: true }, null)).toEqual([])
    expect(check({ type: "string" }, null)).toEqual(["input: must be a string"])
  })

  it("enum and const compare by value (objects too)", () => {
    expect(check({ enum: ["a", "b"] }, "c")).toEqual(['input: must be one of "a", "b"'])
    expect(check({ enum: [{ w: 1, h: 2 }] }, { h: 2, w: 1 })).toEqual([])
    expect(check({ const: 3 }, 4)).toEqual(["input: must be 3"])
    expect(check({ const: 3 }, 3)).toEqual([])
  })

  it("numbers: minimum, maximum, exclusive bounds (numbers and draft-4 booleans), multipleOf", () => {
    expect(check({ maximum: 2048 }, 4096)).toEqual(["input: must be <= 2048"])
    expect(check({ minimum: 1 }, 0)).toEqual(["input: must be >= 1"])
    expect(check({ exclusiveMinimum: 0 }, 0)).toEqual(["input: must be > 0"])
    expect(check({ exclusiveMaximum: 10 }, 10)).toEqual(["input: must be < 10"])
    expect(check({ maximum: 10, exclusiveMaximum: true }, 10)).toEqual(["input: must be < 10"])
    expect(check({ maximum: 10, exclusiveMaximum: true }, 9)).toEqual([])
    expect(check({ multipleOf: 8 }, 1020)).toEqual(["input: must be a multiple of 8"])
    expect(check({ multipleOf: 0.1 }, 0.3)).toEqual([])
    // Bounds say nothing of other types.
    expect(check({ maximum: 1 }, "5")).toEqual([])
  })

  it("strings: minLength, maxLength (in characters), pattern, format uri (lenient)", () => {
    expect(check({ minLength: 2 }, "a")).toEqual(["input: must be at least 2 characters"])
    expect(check({ maxLength: 2 }, "abc")).toEqual(["input: must be at most 2 characters"])
    expect(check({ maxLength: 2 }, "😀😀")).toEqual([])
    expect(check({ pattern: "^\\d+s$" }, "5m")).toEqual(["input: must match ^\\d+s$"])
    expect(check({ pattern: "^\\d+s$" }, "5s")).toEqual([])
    expect(check({ type: "string", format: "uri" }, "not a uri")).toEqual(["input: must be a URI"])
    expect(check({ type: "string", format: "uri" }, "https://example.com/a.png")).toEqual([])
    expect(check({ type: "string", format: "uri" }, "data:image/png;base64,AAAA")).toEqual([])
  })

  it("objects: required, properties (with paths), additionalProperties false and as a schema", () => {
    const schema = {
      type: "object",
      required: ["prompt"],
      properties: { prompt: { type: "string" }, size: { type: "object", properties: { width: { type: "integer", maximum: 2048 } } } }
    }
    expect(check(schema, { size: { width: 4096 } })).toEqual(["prompt: is required", "size.width: must be <= 2048"])
    expect(check({ ...schema, additionalProperties: false }, { prompt: "a", colour: "red" })).toEqual(["colour: is not allowed"])
    expect(check({ ...schema, additionalProperties: { type: "number" } }, { prompt: "a", scale: "x" })).toEqual(["scale: must be a number"])
    expect(check({ ...schema, additionalProperties: false, patternProperties: { "^x-": {} } }, { prompt: "a", "x-extra": 1 })).toEqual([])
    // A field set to undefined is a field left out.
    expect(check(schema, { prompt: undefined })).toEqual(["prompt: is required"])
  })

  it("arrays: items (with indexes), minItems, maxItems", () => {
    const schema = { type: "object", properties: { loras: { type: "array", maxItems: 2, items: { type: "object", properties: { scale: { maximum: 4 } } } } } }
    expect(check(schema, { loras: [{ scale: 1 }, { scale: 5 }] })).toEqual(["loras[1].scale: must be <= 4"])
    expect(check(schema, { loras: [{}, {}, {}] })).toEqual(["loras: must have at most 2 items"])
    expect(check({ minItems: 1 }, [])).toEqual(["input: must have at least 1 items"])
  })

  it("allOf gathers every part's violations; oneOf is read as anyOf", () => {
    expect(check({ allOf: [{ minimum: 1 }, { multipleOf: 2 }] }, 0.5)).toEqual(["input: must be >= 1", "input: must be a multiple of 2"])
    // Overlapping branches: both match, which strict oneOf would refuse; the provider decides.
    expect(check({ oneOf: [{ type: "integer" }, { type: "number" }] }, 3)).toEqual([])
  })
})

describe("InputSchema anyOf messages", () => {
  const imageSize = {
    anyOf: [
      { type: "object", properties: { width: { type: "integer", maximum: 2048 } } },
      { type: "string", enum: ["square", "portrait_4_3"] }
    ]
  }
  it("names the branch meant for the value's type", () => {
    expect(check({ properties: { image_size: imageSize } }, { image_size: { width: 4096 } })).toEqual(["image_size.width: must be <= 2048"])
    expect(check({ properties: { image_size: imageSize } }, { image_size: "huge" })).toEqual(['image_size: must be one of "square", "portrait_4_3"'])
  })
  it("lists the forms when no branch takes the value's type", () => {
    expect(check({ properties: { image_size: imageSize } }, { image_size: 7 })).toEqual([
      'image_size: must be an object; or must be a string, must be one of "square", "portrait_4_3"'
    ])
  })
  it("a value one branch accepts is valid", () => {
    expect(check({ anyOf: [{ type: "string" }, { type: "null" }] }, null)).toEqual([])
  })
})

describe("InputSchema $ref", () => {
  it("resolves #/components/schemas/... in the document given as root", () => {
    const root = { components: { schemas: { Size: { type: "object", properties: { width: { maximum: 10 } } } } } }
    const checker = compile({ type: "object", properties: { size: { $ref: "#/components/schemas/Size" } } }, root)
    expect(checker.check({ size: { width: 11 } })).toEqual(["size.width: must be <= 10"])
  })
  it("resolves #/$defs/... in the schema itself, recursively", () => {
    const schema = { $ref: "#/$defs/Node", $defs: { Node: { type: "object", properties: { value: { type: "integer" }, next: { $ref: "#/$defs/Node" } } } } }
    expect(check(schema, { value: 1, next: { value: 2, next: { value: "x" } } })).toEqual(["next.next.value: must be an integer"])
  })
  it("ignores a $ref it cannot resolve", () => {
    expect(check({ $ref: "#/components/schemas/Missing" }, 1)).toEqual([])
    expect(check({ $ref: "https://example.com/schema.json" }, 1)).toEqual([])
  })
})

describe("InputSchema leniency and defaults", () => {
  it("ignores unknown keywords, unknown formats, unknown types and patterns JavaScript cannot compile", () => {
    expect(check({ "x-fal-order-properties": ["a"], title: "T", examples: [1], format: "binary", discriminator: { propertyName: "k" } }, "x")).toEqual([])
    expect(check({ type: "file" }, "x")).toEqual([])
    expect(check({ pattern: "(?<" }, "x")).toEqual([])
    expect(check(true, "x")).toEqual([])
  })

  it("collects top-level defaults (through a $ref), and fills only required fields left out", () => {
    const root = {
      components: {
        schemas: {
          Input: {
            type: "object",
            required: ["prompt", "image_size"],
            properties: { prompt: { type: "string" }, image_size: { default: "square" }, steps: { type: "integer", default: 4 } }
          }
        }
      }
    }
    const checker = compile({ $ref: "#/components/schemas/Input" }, root)
    expect(checker.defaults).toEqual({ image_size: "square", steps: 4 })
    expect(withRequiredDefaults(checker, { prompt: "a" })).toEqual({ prompt: "a", image_size: "square" })
    expect(withRequiredDefaults(checker, { prompt: "a", image_size: "portrait_4_3" })).toEqual({ prompt: "a", image_size: "portrait_4_3" })
  })

  it("checks fal's published Seedream v4 document as fal serves it", () => {
    const document: { components: { schemas: Record<string, unknown> } } = JSON.parse(
      fs.readFileSync(spec("fal/seedream-v4-text-to-image.queue.openapi.json"), "utf8")
    )
    const checker = compile({ $ref: "#/components/schemas/BytedanceSeedreamV4TextToImageInput" }, document)
    expect(checker.check({ prompt: "a cat", image_size: { width: 2048, height: 2048 }, num_images: 2 })).toEqual([])
    expect(checker.check({ image_size: { width: 20000, height: 0 }, num_images: 7 })).toEqual([
      "prompt: is required",
      "num_images: must be <= 6",
      "image_size.height: must be > 0",
      "image_size.width: must be <= 14142"
    ])
    expect(checker.defaults).toMatchObject({ num_images: 1, image_size: { height: 2048, width: 2048 } })
  })
})
