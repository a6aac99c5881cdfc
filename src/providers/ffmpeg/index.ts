/**
 * The FFmpeg provider: `FFmpegProvider.layer` supplies a `MediaProvider` backed by the local
 * AutoMarket FFmpeg service; `FFmpegClient` is its typed client.
 *
 * @module
 */
export * as AmbientSynth from "./models/AmbientSynth.js"
export * as AudioEnhancer from "./models/AudioEnhancer.js"
export * as Composer from "./models/Composer.js"
export * as FFmpegClient from "./FFmpegClient.js"
export * as FFmpegConfig from "./FFmpegConfig.js"
export * as FFmpegProvider from "./FFmpegProvider.js"
export * as SlideRenderer from "./models/SlideRenderer.js"
export { manifest } from "./manifest.js"
