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

/**
 * The schemas the fal emulator serves by default: Seedream v4 (fal's own document), FLUX.1
 * [schnell], two upscalers that name their factor differently (ESRGAN's `scale`, Clarity
 * Upscaler's `upscale_factor`) and CogVideoX-5B video-to-video (a `video_url` and a required
 * `prompt`), with the fields fal's schemas give them.
 */
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
  ),
  "fal-ai/esrgan": falQueueDocument(
    "fal-ai/esrgan",
    "UpscaleInput",
    {
      type: "object",
      properties: {
        image_url: { type: "string", title: "Image Url", description: "Url to input image" },
        scale: { type: "number", title: "Scale", description: "Rescaling factor", default: 2 },
        face: { type: "boolean", title: "Face", description: "Upscaling a face", default: false },
        output_format: { enum: ["png", "jpeg"], type: "string", title: "Output Format", default: "png" }
      },
      title: "UpscaleInput",
      required: ["image_url"]
    },
    {},
    "image-to-image"
  ),
  "fal-ai/clarity-upscaler": falQueueDocument(
    "fal-ai/clarity-upscaler",
    "ClarityUpscalerInput",
    {
      type: "object",
      properties: {
        image_url: { type: "string", title: "Image Url", description: "The URL of the image to upscale." },
        prompt: { type: "string", title: "Prompt", default: "masterpiece, best quality, highres" },
        upscale_factor: { minimum: 1, maximum: 4, type: "number", title: "Upscale Factor", default: 2 },
        creativity: { minimum: 0, maximum: 1, type: "number", title: "Creativity", default: 0.35 },
        resemblance: { minimum: 0, maximum: 1, type: "number", title: "Resemblance", default: 0.6 }
      },
      title: "ClarityUpscalerInput",
      required: ["image_url"]
    },
    {},
    "image-to-image"
  ),
  "fal-ai/cogvideox-5b/video-to-video": falQueueDocument(
    "fal-ai/cogvideox-5b/video-to-video",
    "VideoToVideoInput",
    {
      type: "object",
      properties: {
        video_url: { type: "string", title: "Video Url", description: "The video to generate the video from." },
        prompt: { type: "string", title: "Prompt", description: "The prompt to generate the video from." },
        negative_prompt: { type: "string", title: "Negative Prompt" },
        seed: { type: "integer", title: "Seed" },
        strength: { minimum: 0.05, maximum: 1, type: "number", title: "Strength", default: 0.8 }
      },
      title: "VideoToVideoInput",
      required: ["prompt", "video_url"]
    },
    {},
    "video-to-video"
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

/** The schemas the Replicate emulator serves by default (model -> its latest version's `openapi_schema`): FLUX schnell and Real-ESRGAN. */
export const replicateSchemas = (): Record<string, Record<string, unknown>> => ({
  "nightmareai/real-esrgan": cogDocument({
    type: "object",
    title: "Input",
    required: ["image"],
    properties: {
      image: { type: "string", title: "Image", format: "uri", "x-order": 0, description: "Input image" },
      scale: { type: "number", title: "Scale", default: 4, maximum: 10, minimum: 0, "x-order": 1, description: "Factor to scale image by" },
      face_enhance: { type: "boolean", title: "Face Enhance", default: false, "x-order": 2, description: "Run GFPGAN face enhancement along with upscaling" }
    }
  }),
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

const uri = (title: string, order: number, description: string) => ({ type: "string", title, format: "uri", "x-order": order, description })
const enumOf = (name: string, order: number, fallback: unknown) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: fallback, "x-order": order })
const enumeration = (name: string, values: ReadonlyArray<unknown>) => ({
  enum: values,
  type: typeof values[0] === "number" ? "integer" : "string",
  title: name,
  description: "An enumeration."
})

/**
 * The Cog schemas of the models of the Replicate emulator's full catalog (`fullCatalog` in
 * ./replicate.ts), as their latest versions declare their inputs: each names its picture, clip,
 * recording or text as that model does (`input_image`, `image`, `image_input: [uri]`,
 * `start_image`, `first_frame_image`, `prompt`, `text`, `audio`, `audio_file`), with the required
 * fields, ranges and enums that make a wrong input refused.
 */
export const replicateCatalogSchemas = (): Record<string, Record<string, unknown>> => ({
  ...replicateSchemas(),
  "black-forest-labs/flux-dev": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0 },
        aspect_ratio: enumOf("aspect_ratio", 1, "1:1"),
        image: uri("Image", 2, "Input image for image to image mode."),
        num_inference_steps: { type: "integer", title: "Num Inference Steps", default: 28, maximum: 50, minimum: 1, "x-order": 3 },
        guidance: { type: "number", title: "Guidance", default: 3, maximum: 10, minimum: 0, "x-order": 4 },
        seed: { type: "integer", title: "Seed", "x-order": 5 }
      }
    },
    { aspect_ratio: enumeration("aspect_ratio", ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]) }
  ),
  "black-forest-labs/flux-1.1-pro": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0 },
        aspect_ratio: enumOf("aspect_ratio", 1, "1:1"),
        width: { type: "integer", title: "Width", maximum: 1440, minimum: 256, "x-order": 2 },
        height: { type: "integer", title: "Height", maximum: 1440, minimum: 256, "x-order": 3 },
        image_prompt: uri("Image Prompt", 4, "Image to use with Flux Redux."),
        safety_tolerance: { type: "integer", title: "Safety Tolerance", default: 2, maximum: 6, minimum: 1, "x-order": 5 },
        seed: { type: "integer", title: "Seed", "x-order": 6 }
      }
    },
    { aspect_ratio: enumeration("aspect_ratio", ["custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"]) }
  ),
  "google/nano-banana": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0 },
        image_input: { type: "array", items: { type: "string", format: "uri" }, title: "Image Input", default: [], "x-order": 1 },
        output_format: enumOf("output_format", 2, "jpg")
      }
    },
    { output_format: enumeration("output_format", ["jpg", "png"]) }
  ),
  "bytedance/sdxl-lightning-4step": cogDocument(
    {
      type: "object",
      title: "Input",
      properties: {
        prompt: { type: "string", title: "Prompt", default: "self-portrait of a woman, lightning in the background", "x-order": 0 },
        negative_prompt: { type: "string", title: "Negative Prompt", default: "worst quality, low quality", "x-order": 1 },
        width: { type: "integer", title: "Width", default: 1024, "x-order": 2 },
        height: { type: "integer", title: "Height", default: 1024, "x-order": 3 },
        num_outputs: { type: "integer", title: "Num Outputs", default: 1, maximum: 4, minimum: 1, "x-order": 4 },
        scheduler: enumOf("scheduler", 5, "K_EULER"),
        num_inference_steps: { type: "integer", title: "Num Inference Steps", default: 4, minimum: 1, "x-order": 6 },
        guidance_scale: { type: "number", title: "Guidance Scale", default: 0, minimum: 0, "x-order": 7 },
        seed: { type: "integer", title: "Seed", default: 0, "x-order": 8 }
      }
    },
    { scheduler: enumeration("scheduler", ["DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM", "K_EULER_ANCESTRAL", "K_EULER", "PNDM", "DPM++2MSDE"]) }
  ),
  "black-forest-labs/flux-kontext-pro": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0 },
        input_image: uri("Input Image", 1, "Image to use as reference."),
        aspect_ratio: enumOf("aspect_ratio", 2, "match_input_image"),
        seed: { type: "integer", title: "Seed", "x-order": 3 },
        output_format: enumOf("output_format", 4, "png"),
        safety_tolerance: { type: "integer", title: "Safety Tolerance", default: 2, maximum: 6, minimum: 0, "x-order": 5 }
      }
    },
    {
      aspect_ratio: enumeration("aspect_ratio", ["match_input_image", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"]),
      output_format: enumeration("output_format", ["jpg", "png"])
    }
  ),
  "qwen/qwen-image-edit": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["image", "prompt"],
      properties: {
        image: uri("Image", 0, "Image to use as reference."),
        prompt: { type: "string", title: "Prompt", "x-order": 1 },
        go_fast: { type: "boolean", title: "Go Fast", default: true, "x-order": 2 },
        seed: { type: "integer", title: "Seed", "x-order": 3 },
        output_format: enumOf("output_format", 4, "webp")
      }
    },
    { output_format: enumeration("output_format", ["webp", "jpg", "png"]) }
  ),
  "minimax/video-01": cogDocument({
    type: "object",
    title: "Input",
    required: ["prompt"],
    properties: {
      prompt: { type: "string", title: "Prompt", "x-order": 0 },
      prompt_optimizer: { type: "boolean", title: "Prompt Optimizer", default: true, "x-order": 1 },
      first_frame_image: uri("First Frame Image", 2, "First frame image for video generation."),
      subject_reference: uri("Subject Reference", 3, "An optional character reference image.")
    }
  }),
  "tencent/hunyuan-video": cogDocument({
    type: "object",
    title: "Input",
    properties: {
      prompt: { type: "string", title: "Prompt", default: "A cat walks on the grass, realistic style.", "x-order": 0 },
      width: { type: "integer", title: "Width", default: 864, maximum: 1280, minimum: 16, "x-order": 1 },
      height: { type: "integer", title: "Height", default: 480, maximum: 1280, minimum: 16, "x-order": 2 },
      video_length: { type: "integer", title: "Video Length", default: 129, maximum: 200, minimum: 1, "x-order": 3 },
      infer_steps: { type: "integer", title: "Infer Steps", default: 50, minimum: 1, "x-order": 4 },
      seed: { type: "integer", title: "Seed", "x-order": 5 }
    }
  }),
  "wan-video/wan-2.1-i2v-480p": cogDocument({
    type: "object",
    title: "Input",
    required: ["image", "prompt"],
    properties: {
      image: uri("Image", 0, "Image for use as the initial frame of the video."),
      prompt: { type: "string", title: "Prompt", "x-order": 1 },
      num_frames: { type: "integer", title: "Num Frames", default: 81, maximum: 100, minimum: 81, "x-order": 2 },
      sample_steps: { type: "integer", title: "Sample Steps", default: 30, maximum: 40, minimum: 1, "x-order": 3 },
      seed: { type: "integer", title: "Seed", "x-order": 4 }
    }
  }),
  "kwaivgi/kling-v2.1": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["prompt", "start_image"],
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0 },
        start_image: uri("Start Image", 1, "First frame of the video."),
        mode: enumOf("mode", 2, "standard"),
        duration: enumOf("duration", 3, 5),
        negative_prompt: { type: "string", title: "Negative Prompt", default: "", "x-order": 4 }
      }
    },
    { mode: enumeration("mode", ["standard", "pro"]), duration: enumeration("duration", [5, 10]) }
  ),
  "meta/musicgen": cogDocument(
    {
      type: "object",
      title: "Input",
      properties: {
        prompt: { type: "string", title: "Prompt", "x-order": 0, description: "A description of the music you want to generate." },
        input_audio: uri("Input Audio", 1, "An audio file that will influence the generated music."),
        duration: { type: "integer", title: "Duration", default: 8, "x-order": 2 },
        output_format: enumOf("output_format", 3, "wav"),
        seed: { type: "integer", title: "Seed", "x-order": 4 }
      }
    },
    { output_format: enumeration("output_format", ["wav", "mp3"]) }
  ),
  "emu/tunes": cogDocument({
    type: "object",
    title: "Input",
    required: ["prompt"],
    properties: {
      prompt: { type: "string", title: "Prompt", "x-order": 0 },
      duration: { type: "integer", title: "Duration", default: 10, maximum: 30, minimum: 1, "x-order": 1 }
    }
  }),
  "minimax/speech-02-turbo": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["text"],
      properties: {
        text: { type: "string", title: "Text", maxLength: 5000, "x-order": 0 },
        voice_id: { type: "string", title: "Voice Id", default: "Wise_Woman", "x-order": 1 },
        speed: { type: "number", title: "Speed", default: 1, maximum: 2, minimum: 0.5, "x-order": 2 },
        emotion: enumOf("emotion", 3, "auto")
      }
    },
    { emotion: enumeration("emotion", ["auto", "neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]) }
  ),
  "resemble-ai/chatterbox": cogDocument({
    type: "object",
    title: "Input",
    required: ["prompt"],
    properties: {
      prompt: { type: "string", title: "Prompt", "x-order": 0, description: "Text to synthesize" },
      audio_prompt: uri("Audio Prompt", 1, "Path to the reference audio file (Optional)"),
      exaggeration: { type: "number", title: "Exaggeration", default: 0.5, maximum: 2, minimum: 0.25, "x-order": 2 },
      cfg_weight: { type: "number", title: "Cfg Weight", default: 0.5, maximum: 1, minimum: 0.2, "x-order": 3 },
      seed: { type: "integer", title: "Seed", default: 0, "x-order": 4 }
    }
  }),
  "jaaari/kokoro-82m": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["text"],
      properties: {
        text: { type: "string", title: "Text", "x-order": 0 },
        voice: enumOf("voice", 1, "af_bella"),
        speed: { type: "number", title: "Speed", default: 1, maximum: 5, minimum: 0.1, "x-order": 2 }
      }
    },
    { voice: enumeration("voice", ["af_alloy", "af_bella", "af_heart", "am_adam", "bf_emma", "bm_george"]) }
  ),
  "openai/whisper": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["audio"],
      properties: {
        audio: uri("Audio", 0, "Audio file"),
        transcription: enumOf("transcription", 1, "plain text"),
        translate: { type: "boolean", title: "Translate", default: false, "x-order": 2 },
        language: { type: "string", title: "Language", "x-order": 3 },
        temperature: { type: "number", title: "Temperature", default: 0, "x-order": 4 }
      }
    },
    { transcription: enumeration("transcription", ["plain text", "srt", "vtt"]) }
  ),
  "vaibhavs10/incredibly-fast-whisper": cogDocument(
    {
      type: "object",
      title: "Input",
      required: ["audio"],
      properties: {
        audio: uri("Audio", 0, "Audio file"),
        task: enumOf("task", 1, "transcribe"),
        language: { type: "string", title: "Language", default: "None", "x-order": 2 },
        batch_size: { type: "integer", title: "Batch Size", default: 24, "x-order": 3 },
        diarise_audio: { type: "boolean", title: "Diarise Audio", default: false, "x-order": 4 }
      }
    },
    { task: enumeration("task", ["transcribe", "translate"]) }
  ),
  "victor-upmeet/whisperx": cogDocument({
    type: "object",
    title: "Input",
    required: ["audio_file"],
    properties: {
      audio_file: uri("Audio File", 0, "Audio file"),
      language: { type: "string", title: "Language", "x-order": 1 },
      batch_size: { type: "integer", title: "Batch Size", default: 64, "x-order": 2 },
      align_output: { type: "boolean", title: "Align Output", default: false, "x-order": 3 },
      diarization: { type: "boolean", title: "Diarization", default: false, "x-order": 4 }
    }
  })
})
