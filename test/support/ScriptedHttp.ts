/**
 * An `HttpClient` that answers from a script instead of the network: each request is recorded
 * and handed to a function that returns the response (status, headers, body) or a transport
 * failure. Time-based tests (retries, Retry-After, circuit breaking) run under `TestClock`
 * with it, deterministically; wire-level behaviour is tested against real loopback servers.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** A request as the script sees it. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

/** What the script answers. */
export type ScriptedAnswer =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string | object }
  | { readonly transport: string }

/** A scripted client and what it has seen. */
export interface Scripted {
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: Array<SeenRequest>
}

const bodyText = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const body = request.body
  if (body._tag === "Uint8Array") return new TextDecoder().decode(body.body)
  return undefined
}

/** Make a scripted client; `answer` gets the request and its 0-based index. */
export const scripted = (answer: (request: SeenRequest, index: number) => ScriptedAnswer): Scripted => {
  const requests: Array<SeenRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const seen: SeenRequest = { method: request.method, url: url.toString(), headers: { ...request.headers }, body: bodyText(request) }
      requests.push(seen)
      const reply = answer(seen, requests.length - 1)
      if ("transport" in reply) {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause: Object.assign(new Error(reply.transport), { code: reply.transport }) })
        )
      }
      const body = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body)
      return Effect.succeed(
        HttpClientResponse.fromWeb(request, new Response(body, { status: reply.status, headers: reply.headers ?? {} }))
      )
    })
  )
  return { layer: Layer.succeed(HttpClient.HttpClient, client), requests }
}
