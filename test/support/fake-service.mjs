// A stand-in local service for ServiceRuntime tests. Behaviour by argument:
//   ok        listen on a free port, announce it, answer /health 200
//   crash     write to stderr and exit 3 before announcing
//   unhealthy announce, but answer /health 503 forever
import http from "node:http"

const mode = process.argv[2] ?? "ok"
if (mode === "crash") {
  process.stderr.write("fake-service: cannot open model file\n")
  process.exit(3)
}
const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(mode === "unhealthy" ? 503 : 200, { "content-type": "application/json" })
    res.end(JSON.stringify({ status: mode === "unhealthy" ? "starting" : "healthy", pid: process.pid }))
  } else if (req.url === "/pid") {
    res.end(String(process.pid))
  } else {
    res.writeHead(404).end()
  }
})
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address()
  process.stdout.write(`automarket-listening ${JSON.stringify({ service: "fake", host: "127.0.0.1", port })}\n`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
