// The benchmarks' emulator: a minimal OpenAI-compatible server on node:http, run in its own
// process so that the client measured does not share an event loop with it.
//
//   node bench/server.mjs [--role chat|fallback|download]
//
// Prints one JSON line on stdout once listening ({ "port": N } or { "ports": [...] }), then
// serves until killed.
//
// chat:     POST <any>/chat/completions -> a fixed ~600-byte chat completion, no delay;
//           GET <any>/models -> one model (for the registry's discovery).
// fallback: two servers. The first answers every chat completion with 402 (quota exhausted) and
//           notes when that answer finished; the second answers normally and notes when each
//           request arrived. GET /gaps on the first returns the arrival-minus-refusal gaps (ms).
// download: GET /bytes/<n> streams n bytes (application/octet-stream, Content-Length set).
// discovery: GET /together/models and /openrouter/models: 1,000 models each.
import { createServer } from "node:http"

const role = process.argv.includes("--role") ? process.argv[process.argv.indexOf("--role") + 1] : "chat"

/** The fixed answer: the shape of an OpenAI chat completion, about 600 bytes. */
const completion = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench-0000000000000000000000",
    object: "chat.completion",
    created: 1764374400,
    model: "bench/echo-small",
    system_fingerprint: "fp_bench",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content:
            "The quick brown fox jumps over the lazy dog. This fixed answer stands in for a short model reply, long enough to look like one and short enough to keep the server cheap."
        },
        logprobs: null,
        finish_reason: "stop"
      }
    ],
    usage: { prompt_tokens: 24, completion_tokens: 38, total_tokens: 62 }
  })
)

/** `GET /models`: the one model, in a shape both the Together and the OpenRouter clients read. */
const models = Buffer.from(
  JSON.stringify({
    data: [
      {
        id: "bench/echo-small",
        object: "model",
        type: "chat",
        name: "Bench echo",
        display_name: "Bench echo",
        context_length: 8192,
        architecture: { modality: "text->text", input_modalities: ["text"], output_modalities: ["text"] },
        pricing: { prompt: "0", completion: "0", input: 0, output: 0 }
      }
    ]
  })
)

const quota = Buffer.from(JSON.stringify({ error: { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota" } }))

const drain = (req, then) => {
  req.on("data", () => {})
  req.on("end", then)
}

const answer = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length })
  res.end(body)
}

const listen = (server) =>
  new Promise((resolve) => {
    server.keepAliveTimeout = 60_000
    server.listen(0, "127.0.0.1", () => resolve(server.address().port))
  })

if (role === "chat") {
  // GET /stats: requests served by kind (how many calls a client really made).
  const stats = { chat: 0, models: 0, other: 0 }
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url.endsWith("/chat/completions")) {
      stats.chat++
      return drain(req, () => answer(res, 200, completion))
    }
    if (req.method === "GET" && req.url === "/stats") return answer(res, 200, Buffer.from(JSON.stringify(stats)))
    stats.models++
    if (req.method === "GET" && /\/models(\?|$)/.test(req.url)) return drain(req, () => answer(res, 200, models))
    stats.models--
    stats.other++
    drain(req, () => answer(res, 404, Buffer.from('{"error":"not found"}')))
  })
  const port = await listen(server)
  process.stdout.write(JSON.stringify({ port }) + "\n")
} else if (role === "fallback") {
  let refusedAt = undefined
  const gaps = []
  const first = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/gaps") return answer(res, 200, Buffer.from(JSON.stringify(gaps.splice(0))))
    if (req.method === "GET" && /\/models(\?|$)/.test(req.url)) return drain(req, () => answer(res, 200, models))
    drain(req, () => {
      res.on("finish", () => {
        refusedAt = performance.now()
      })
      answer(res, 402, quota)
    })
  })
  const second = createServer((req, res) => {
    if (req.method === "GET" && /\/models(\?|$)/.test(req.url)) return drain(req, () => answer(res, 200, models))
    const arrived = performance.now()
    if (refusedAt !== undefined) gaps.push(arrived - refusedAt)
    refusedAt = undefined
    drain(req, () => answer(res, 200, completion))
  })
  const ports = [await listen(first), await listen(second)]
  process.stdout.write(JSON.stringify({ ports }) + "\n")
} else if (role === "download") {
  const chunk = Buffer.alloc(1 << 20, 0x61)
  const server = createServer((req, res) => {
    const match = /^\/bytes\/(\d+)$/.exec(req.url ?? "")
    if (match === null) return answer(res, 404, Buffer.from('{"error":"not found"}'))
    const total = Number(match[1])
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": total })
    let sent = 0
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once("drain", pump)
      }
      res.end()
    }
    pump()
  })
  const port = await listen(server)
  process.stdout.write(JSON.stringify({ port }) + "\n")
} else if (role === "discovery") {
  // Model lists of 1,000 models each, in the shapes of Together (`GET /together/models`, an
  // array) and OpenRouter (`GET /openrouter/models`, `{data}`), with a mix of kinds so that
  // categorization does real work.
  const kinds = [
    ["chat", ["text"], ["text"]],
    ["image", ["text"], ["image"]],
    ["audio", ["text"], ["audio"]],
    ["embedding", ["text"], ["embeddings"]],
    ["transcribe", ["audio"], ["text"]],
    ["video", ["text"], ["video"]]
  ]
  const together = Buffer.from(
    JSON.stringify(
      Array.from({ length: 1000 }, (_, i) => {
        const [type] = kinds[i % kinds.length]
        return {
          id: `org${i % 37}/model-${type}-${i}`,
          object: "model",
          created: 1700000000 + i,
          type,
          display_name: `Model ${i}`,
          organization: `Org ${i % 37}`,
          context_length: 8192,
          pricing: { hourly: 0, input: (i % 5) * 0.1, output: (i % 7) * 0.2, base: 0, finetune: 0 }
        }
      })
    )
  )
  const openrouter = Buffer.from(
    JSON.stringify({
      data: Array.from({ length: 1000 }, (_, i) => {
        const [, input, output] = kinds[i % kinds.length]
        return {
          id: `vendor${i % 41}/model-${i}`,
          canonical_slug: `vendor${i % 41}/model-${i}`,
          name: `Vendor model ${i}`,
          created: 1700000000 + i,
          description: "A model of the benchmark's catalog, with a description of typical length for the listing.",
          context_length: 32768,
          architecture: { modality: `${input.join("+")}->${output.join("+")}`, input_modalities: input, output_modalities: output, tokenizer: "Other", instruct_type: null },
          pricing: { prompt: i % 3 === 0 ? "0" : "0.000001", completion: i % 3 === 0 ? "0" : "0.000002", request: "0", image: "0" },
          top_provider: { context_length: 32768, max_completion_tokens: 4096, is_moderated: false }
        }
      })
    })
  )
  const server = createServer((req, res) => {
    const url = req.url ?? ""
    if (url.startsWith("/together/models")) return drain(req, () => answer(res, 200, together))
    if (url.startsWith("/openrouter/models")) return drain(req, () => answer(res, 200, openrouter))
    drain(req, () => answer(res, 404, Buffer.from('{"error":"not found"}')))
  })
  const port = await listen(server)
  process.stdout.write(JSON.stringify({ port }) + "\n")
} else {
  console.error(`unknown role ${role}`)
  process.exit(2)
}
