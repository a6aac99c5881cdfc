/**
 * The per-model input schemas the fal and Replicate emulators serve, in the real shapes:
 * fal's queue OpenAPI document of an endpoint (`GET /api/openapi/queue/openapi.json?endpoint_id=`,
 * as in test/contract/specs/fal/seedream-v4-text-to-image.queue.openapi.json: the input is the JSON
 * request body of `POST /{model}`, a `$ref` into `components.schemas`), and the Cog OpenAPI
 * document of a Replicate model version (`openapi_schema`, its input `components.schemas.Input`,
 * enums as `allOf: [{$ref}]` beside the property's default, as Cog writes them).
 */
import * as fs from "node:fs"
import { spec } from "../support/Prism.js"

/** An endpoint's queue OpenAPI document, as fal serves it, around its input schema (named `inputName`) and extra components. */
export const falQueueDocument = (
  model: string,
  inputName: string,
  input: Record<string, unknown>,
  components: Record<string, unknown> = {},
  category = "text-to-image"
): Record<string, unknown> => {
  const request = (description: string) => ({
    parameters: [{ name: "request_id", in: "path", required: true, schema: { type: "string", description: "Request ID" } }],
    responses: { 200: { description, content: { "application/json": { schema: { $ref: "#/components/schemas/QueueStatus" } } } } }
  })
  return {
    openapi: "3.0.4",
    info: {
      title: `Queue OpenAPI for ${model}`,
      version: "1.0.0",
      description: `The OpenAPI schema for the ${model} queue.`,
      "x-fal-metadata": { endpointId: model, category }
    },
    components: {
      securitySchemes: { apiKeyAuth: { type: "apiKey", in: "header", name: "Authorization", description: 'Fal Key' } },
      schemas: {
        QueueStatus: {
          type: "object",
          title: "QueueStatus",
          required: ["status", "request_id"],
          properties: {
            status: { type: "string", enum: ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"] },
            request_id: { type: "string", description: "The request id." },
            response_url: { type: "string", description: "The response url." },
            status_url: { type: "string", description: "The status url." },
            cancel_url: { type: "string", description: "The cancel url." },
            logs: { type: "object", description: "The logs.", additionalProperties: true },
            metrics: { type: "object", description: "The metrics.", additionalProperties: true },
            queue_position: { type: "integer", description: "The queue position." }
          }
        },
        [inputName]: input,
        ...components
      }
    },
    paths: {
      [`/${model}/requests/{request_id}/status`]: { get: request("The request status.") },
      [`/${model}/requests/{request_id}/cancel`]: { put: request("The request was cancelled.") },
      [`/${model}`]: {
        post: {
          requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${inputName}` } } } },
          responses: { 200: { description: "The request status.", content: { "application/json": { schema: { $ref: "#/components/schemas/QueueStatus" } } } } }
        }
      },
      [`/${model}/requests/{request_id}`]: { get: request("Result of the request.") }
    },
    servers: [{ url: "https://queue.fal.run" }],
    security: [{ apiKeyAuth: [] }]
  }
}

const imageSize = {
  "x-fal-order-properties": ["width", "height"],
  type: "object",
  properties: {
    height: { maximum: 14142, type: "integer", title: "Height", description: "The height of the generated image.", exclusiveMinimum: 0, default: 512 },
    width: { maximum: 14142, type: "integer", title: "Width", description: "The width of the generated image.", exclusiveMinimum: 0, default: 512 }
  },
  title: "ImageSize"
}

const sizeNames = ["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"]

/** The schemas the fal emulator serves by default: Seedream v4 (fal's own document) and FLUX.1 [schnell]. */
export const falSchemas = (): Record<string, Record<string, unknown>> => ({
  // As fal publishes it (vendored for the contract tests).
  "fal-ai/bytedance/seedream/v4/text-to-image": JSON.parse(fs.readFileSync(spec("fal/seedream-v4-text-to-image.queue.openapi.json"), "utf8")),
  "fal-ai/flux/schnell": falQueueDocument(
    "fal-ai/flux/schnell",
    "FluxSchnellInput",
    {
      type: "object",
      properties: {
        prompt: { title: "Prompt", type: "string", description: "The prompt to generate an image from." },
        image_size: { anyOf: [{ $ref: "#/components/schemas/ImageSize" }, { enum: sizeNames, type: "string" }], title: "Image Size", default: "landscape_4_3" },
        num_inference_steps: { minimum: 1, maximum: 12, type: "integer", title: "Num Inference Steps", default: 4 },
        seed: { type: "integer", title: "Seed" },
        num_images: { minimum: 1, maximum: 4, type: "integer", title: "Num Images", default: 1 },
        enable_safety_checker: { type: "boolean", title: "Enable Safety Checker", default: true }
      },
      title: "SchnellTextToImageInput",
      required: ["prompt"]
    },
    { ImageSize: imageSize }
  )
})

/** A Cog model version's OpenAPI document (`openapi_schema`) around its `Input` and extra components (enums). */
export const cogDocument = (input: Record<string, unknown>, components: Record<string, unknown> = {}): Record<string, unknown> => ({
  openapi: "3.0.2",
  info: { title: "Cog", version: "0.1.0" },
  paths: {
    "/predictions": {
      post: {
        summary: "Predict",
        operationId: "predict_predictions_post",
        requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/PredictionRequest" } } } },
        responses: { 200: { description: "Successful Response", content: { "application/json": { schema: { $ref: "#/components/schemas/PredictionResponse" } } } } }
      }
    }
  },
  components: {
    schemas: {
      Input: input,
      Output: { type: "array", items: { type: "string", format: "uri" }, title: "Output" },
      PredictionRequest: { type: "object", title: "PredictionRequest", properties: { input: { $ref: "#/components/schemas/Input" }, id: { type: "string", title: "Id" } } },
      PredictionResponse: { type: "object", title: "PredictionResponse", properties: { output: { $ref: "#/components/schemas/Output" }, status: { type: "string" } } },
      ...components
    }
  }
})

/** The schemas the Replicate emulator serves by default (model -> its latest version's `openapi_schema`): FLUX schnell. */
export const replicateSchemas = (): Record<string, Record<string, unknown>> => ({
  "black-forest-labs/flux-schnell": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0, description: "Prompt for generated image" },
        aspect_ratio: { allOf: [{ $ref: "#/components/schemas/aspect_ratio" }], default: "1:1", "x-order": 1, description: "Aspect ratio for the generated image" },
        num_outputs: { type: "integer", title: "Num Outputs", default: 1, maximum: 4, minimum: 1, "x-order": 2 },
        num_inference_steps: { type: "integer", title: "Num Inference Steps", default: 4, maximum: 4, minimum: 1, "x-order": 3 },
        seed: { type: "integer", title: "Seed", "x-order": 4 },
        output_format: { allOf: [{ $ref: "#/components/schemas/output_format" }], default: "webp", "x-order": 5 },
        output_quality: { type: "integer", title: "Output Quality", default: 80, maximum: 100, minimum: 0, "x-order": 6 },
        go_fast: { type: "boolean", title: "Go Fast", default: true, "x-order": 7 },
        megapixels: { allOf: [{ $ref: "#/components/schemas/megapixels" }], default: "1", "x-order": 8 }
      }
    },
    {
      aspect_ratio: { enum: ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"], type: "string", title: "aspect_ratio", description: "An enumeration." },
      output_format: { enum: ["webp", "jpg", "png"], type: "string", title: "output_format", description: "An enumeration." },
      megapixels: { enum: ["1", "0.25"], type: "string", title: "megapixels", description: "An enumeration." }
    }
  )
})
