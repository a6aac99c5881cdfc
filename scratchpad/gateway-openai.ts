/**
 * The gateway from the openai SDK, unchanged: speech, then its transcription, through
 * `automarket serve gateway` (AUTOMARKET_GATEWAY, e.g. http://127.0.0.1:8080) with a key from
 * `automarket keys create` (AUTOMARKET_KEY). On the embedded default the local engines answer.
 *
 *   AUTOMARKET_GATEWAY=http://127.0.0.1:8080 AUTOMARKET_KEY=amk_... node --import tsx scratchpad/gateway-openai.ts
 */
import OpenAI, { toFile } from "openai"

const client = new OpenAI({ baseURL: `${process.env.AUTOMARKET_GATEWAY}/v1`, apiKey: process.env.AUTOMARKET_KEY })
const speech = await client.audio.speech.create({ model: "auto", voice: "slt", input: "hello from the openai SDK" })
const audio = Buffer.from(await speech.arrayBuffer())
console.log(`speech: ${audio.length} bytes from ${speech.headers.get("x-automarket-provider")}`)
const heard = await client.audio.transcriptions.create({ model: "auto", file: await toFile(audio, "hello.wav") })
console.log(`heard: ${heard.text}`)
