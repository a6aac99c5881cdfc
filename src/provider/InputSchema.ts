/**
 * A small JSON Schema checker for the inputs of a model, compiled once per schema, so that an
 * input the provider would refuse is refused here, before anything is submitted (and paid for).
 *
 * It covers the subset fal's per-endpoint OpenAPI documents and Replicate's per-version Cog
 * schemas use: `type` (`integer`, arrays of types, OpenAPI 3.0's `nullable`), `enum`, `const`,
 * `minimum`/`maximum` and `exclusiveMinimum`/`exclusiveMaximum` (numbers, or the draft-4
 * booleans), `multipleOf`, `minLength`/`maxLength`, `pattern`, `required`, `properties`,
 * `additionalProperties` (`patternProperties` keys count as declared), `items`,
 * `minItems`/`maxItems`, `anyOf`/`oneOf`/`allOf`, local `$ref`s (`#/components/schemas/...`,
 * `#/$defs/...`, any `#/...` pointer), `default` (collected, see `InputChecker.defaults`) and
 * `format: uri` (any `scheme:` prefix passes, data URIs too).
 *
 * The rule is: never a false refusal. Unknown keywords, unknown formats, a `$ref` that cannot
 * be resolved and a `pattern` JavaScript cannot compile are ignored; `oneOf` is read as `anyOf`
 * (overlapping branches are common in generated schemas, and the provider decides between them).
 *
 * A violation reads `<path>: <rule>`, the path in dots and brackets (`image_size.width`,
 * `loras[0].scale`; `input` for the whole value): `width: must be <= 2048`, `prompt: is
 * required`, `image_size: must be one of "square", "portrait_4_3"`.
 *
 * @module
 */

/** A compiled schema: checks values, and tells the defaults and required fields of an object schema. */
export interface InputChecker {
  /** The violations of `value` (none when it is valid), each `<path>: <rule>`. */
  readonly check: (value: unknown) => ReadonlyArray<string>
  /** The `default` of each top-level property that declares one. */
  readonly defaults: Readonly<Record<string, unknown>>
  /** The top-level required property names. */
  readonly required: ReadonlyArray<string>
  /** The top-level property names the schema declares (a provider may place a value by them). */
  readonly properties: ReadonlyArray<string>
}

type Check = (value: unknown, path: string) => ReadonlyArray<string>

const none: ReadonlyArray<string> = []

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const label = (path: string): string => (path === "" ? "input" : path)

const child = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`)

const typeOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value

const hasType = (value: unknown, type: string): boolean => {
  switch (type) {
    case "null":
      return value === null
    case "boolean":
      return typeof value === "boolean"
    case "string":
      return typeof value === "string"
    case "integer":
      return typeof value === "number" && Number.isInteger(value)
    case "number":
      return typeof value === "number" && Number.isFinite(value)
    case "array":
      return Array.isArray(value)
    case "object":
      return isRecord(value)
    default:
      // A type this checker does not know is no reason to refuse.
      return true
  }
}

/** Canonical JSON: objects with sorted keys, so that `enum`/`const` compare by value. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(",")}]`
    : isRecord(value)
      ? `{${Object.keys(value)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
          .join(",")}}`
      : (JSON.stringify(value) ?? "undefined")

const show = (value: unknown): string => {
  const text = canonical(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`)

/** The value at a local JSON pointer (`#/components/schemas/Input`), if there is one. */
const resolvePointer = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#")) return undefined
  let at: unknown = root
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~")
    if (Array.isArray(at)) at = at[Number(key)]
    else if (isRecord(at)) at = at[key]
    else return undefined
  }
  return at
}

const compilePattern = (pattern: string): RegExp | undefined => {
  for (const flags of ["u", ""]) {
    try {
      return new RegExp(pattern, flags)
    } catch {
      // try the next flags; a pattern JavaScript cannot read is ignored
    }
  }
  return undefined
}

// The JSON types a schema admits at its top (none: any), looking through `$ref`s and unions;
// used to tell which branch of an `anyOf` a value was meant for.
const admittedTypes = (schema: unknown, root: unknown, depth = 0): ReadonlyArray<string> | undefined => {
  if (!isRecord(schema) || depth > 8) return undefined
  if (typeof schema.$ref === "string") return admittedTypes(resolvePointer(root, schema.$ref), root, depth + 1)
  const declared = typeof schema.type === "string" ? [schema.type] : Array.isArray(schema.type) ? schema.type.filter((t) => typeof t === "string") : undefined
  if (declared !== undefined) return schema.nullable === true ? [...declared, "null"] : declared
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map(typeOf).map((t) => (t === "integer" ? "number" : t)))]
  const union = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined
  if (union !== undefined) {
    const types = union.map((branch) => admittedTypes(branch, root, depth + 1))
    return types.some((t) => t === undefined) ? undefined : types.flatMap((t) => t ?? [])
  }
  return undefined
}

const admits = (types: ReadonlyArray<string> | undefined, value: unknown): boolean =>
  types === undefined || types.some((type) => hasType(value, type) || (type === "number" && typeof value === "number"))

/**
 * Compile `schema` into a checker. `root` is the document its `$ref`s point into (an OpenAPI
 * document for `#/components/schemas/...`); by default the schema itself.
 */
export const compile = (schema: unknown, root: unknown = schema): InputChecker => {
  // Each `$ref` is compiled once, lazily: a recursive schema refers to its own entry.
  const refs = new Map<string, Check>()
  const refCheck = (ref: string): Check => {
    const known = refs.get(ref)
    if (known !== undefined) return known
    let compiled: Check | undefined
    const lazy: Check = (value, path) => {
      if (compiled === undefined) {
        const target = resolvePointer(root, ref)
        compiled = target === undefined ? () => none : build(target)
      }
      return compiled(value, path)
    }
    refs.set(ref, lazy)
    return lazy
  }

  const build = (node: unknown): Check => {
    if (!isRecord(node)) return () => none
    const checks: Array<Check> = []

    if (typeof node.$ref === "string") checks.push(refCheck(node.$ref))

    const types = typeof node.type === "string" ? [node.type] : Array.isArray(node.type) ? node.type.filter((t): t is string => typeof t === "string") : []
    const nullable = node.nullable === true || types.includes("null")
    if (types.length > 0) {
      checks.push((value, path) =>
        types.some((type) => hasType(value, type)) || (nullable && value === null)
          ? none
          : [`${label(path)}: must be ${types.filter((t) => t !== "null").map(article).join(" or ")}${nullable ? " or null" : ""}`]
      )
    }

    if (Array.isArray(node.enum)) {
      const allowed = new Set(node.enum.map(canonical))
      const listed = node.enum.map(show).join(", ")
      checks.push((value, path) =>
        allowed.has(canonical(value)) || (node.nullable === true && value === null) ? none : [`${label(path)}: must be one of ${listed}`]
      )
    }
    if ("const" in node) {
      const expected = canonical(node.const)
      checks.push((value, path) => (canonical(value) === expected ? none : [`${label(path)}: must be ${show(node.const)}`]))
    }

    // Numbers.
    const bound = (keyword: "minimum" | "maximum", exclusive: "exclusiveMinimum" | "exclusiveMaximum") => {
      const inclusive = typeof node[keyword] === "number" ? (node[keyword] as number) : undefined
      const strict = typeof node[exclusive] === "number" ? (node[exclusive] as number) : node[exclusive] === true ? inclusive : undefined
      const below = keyword === "minimum"
      if (strict !== undefined) {
        checks.push((value, path) =>
          typeof value !== "number" || (below ? value > strict : value < strict) ? none : [`${label(path)}: must be ${below ? ">" : "<"} ${strict}`]
        )
      }
      if (inclusive !== undefined && strict !== inclusive) {
        checks.push((value, path) =>
          typeof value !== "number" || (below ? value >= inclusive : value <= inclusive) ? none : [`${label(path)}: must be ${below ? ">=" : "<="} ${inclusive}`]
        )
      }
    }
    bound("minimum", "exclusiveMinimum")
    bound("maximum", "exclusiveMaximum")
    if (typeof node.multipleOf === "number" && node.multipleOf > 0) {
      const step = node.multipleOf
      checks.push((value, path) => {
        if (typeof value !== "number") return none
        const ratio = value / step
        return Math.abs(ratio - Math.round(ratio)) < 1e-9 ? none : [`${label(path)}: must be a multiple of ${step}`]
      })
    }

    // Strings.
    if (typeof node.minLength === "number") {
      const min = node.minLength
      checks.push((value, path) => (typeof value !== "string" || [...value].length >= min ? none : [`${label(path)}: must be at least ${min} characters`]))
    }
    if (typeof node.maxLength === "number") {
      const max = node.maxLength
      checks.push((value, path) => (typeof value !== "string" || [...value].length <= max ? none : [`${label(path)}: must be at most ${max} characters`]))
    }
    if (typeof node.pattern === "string") {
      const pattern = compilePattern(node.pattern)
      const source = node.pattern
      if (pattern !== undefined) {
        checks.push((value, path) => (typeof value !== "string" || pattern.test(value) ? none : [`${label(path)}: must match ${source}`]))
      }
    }
    if (node.format === "uri") {
      checks.push((value, path) => (typeof value !== "string" || /^[a-z][a-z0-9+.-]*:/i.test(value) ? none : [`${label(path)}: must be a URI`]))
    }

    // Objects.
    const required = Array.isArray(node.required) ? node.required.filter((name): name is string => typeof name === "string") : []
    if (required.length > 0) {
      checks.push((value, path) => (isRecord(value) ? required.filter((name) => value[name] === undefined).map((name) => `${child(path, name)}: is required`) : none))
    }
    const properties = isRecord(node.properties) ? node.properties : {}
    const propertyChecks = new Map(Object.entries(properties).map(([name, sub]) => [name, build(sub)] as const))
    if (propertyChecks.size > 0) {
      checks.push((value, path) => {
        if (!isRecord(value)) return none
        const found: Array<string> = []
        for (const [name, check] of propertyChecks) if (value[name] !== undefined) found.push(...check(value[name], child(path, name)))
        return found
      })
    }
    if (node.additionalProperties !== undefined && node.additionalProperties !== true) {
      const patterns = isRecord(node.patternProperties)
        ? Object.keys(node.patternProperties).flatMap((p) => {
            const compiled = compilePattern(p)
            return compiled === undefined ? [] : [compiled]
          })
        : []
      const extra: Check | undefined = node.additionalProperties === false ? undefined : build(node.additionalProperties)
      checks.push((value, path) => {
        if (!isRecord(value)) return none
        const found: Array<string> = []
        for (const name of Object.keys(value)) {
          if (propertyChecks.has(name) || value[name] === undefined || patterns.some((p) => p.test(name))) continue
          if (extra === undefined) found.push(`${child(path, name)}: is not allowed`)
          else found.push(...extra(value[name], child(path, name)))
        }
        return found
      })
    }

    // Arrays.
    if (isRecord(node.items)) {
      const item = build(node.items)
      checks.push((value, path) => (Array.isArray(value) ? value.flatMap((element, i) => item(element, `${label(path)}[${i}]`)) : none))
    }
    if (typeof node.minItems === "number") {
      const min = node.minItems
      checks.push((value, path) => (!Array.isArray(value) || value.length >= min ? none : [`${label(path)}: must have at least ${min} items`]))
    }
    if (typeof node.maxItems === "number") {
      const max = node.maxItems
      checks.push((value, path) => (!Array.isArray(value) || value.length <= max ? none : [`${label(path)}: must have at most ${max} items`]))
    }

    // Combinators.
    if (Array.isArray(node.allOf)) {
      const parts = node.allOf.map(build)
      checks.push((value, path) => parts.flatMap((part) => part(value, path)))
    }
    for (const keyword of ["anyOf", "oneOf"] as const) {
      const branches = node[keyword]
      if (!Array.isArray(branches) || branches.length === 0) continue
      const compiled = branches.map((branch) => ({ check: build(branch), types: admittedTypes(branch, root) }))
      checks.push((value, path) => {
        const results = compiled.map((branch) => branch.check(value, path))
        if (results.some((found) => found.length === 0)) return none
        // The branches meant for this kind of value say best what is wrong with it.
        const meant = compiled.flatMap((branch, i) => (admits(branch.types, value) ? [results[i]!] : []))
        if (meant.length === 1) return meant[0]!
        const prefix = `${label(path)}: `
        const reasons = (meant.length > 0 ? meant : results).map((found) => found.map((line) => (line.startsWith(prefix) ? line.slice(prefix.length) : line)).join(", "))
        return [`${label(path)}: ${[...new Set(reasons)].join("; or ")}`]
      })
    }

    return (value, path) => (checks.length === 1 ? checks[0]!(value, path) : checks.flatMap((check) => check(value, path)))
  }

  const top = build(schema)
  const resolved = isRecord(schema) && typeof schema.$ref === "string" ? resolvePointer(root, schema.$ref) : schema
  const properties = isRecord(resolved) && isRecord(resolved.properties) ? resolved.properties : {}
  const defaults: Record<string, unknown> = {}
  for (const [name, property] of Object.entries(properties)) {
    if (isRecord(property) && property.default !== undefined) defaults[name] = property.default
  }
  const required = isRecord(resolved) && Array.isArray(resolved.required) ? resolved.required.filter((name): name is string => typeof name === "string") : []
  return { check: (value) => top(value, ""), defaults, required, properties: Object.keys(properties) }
}

/**
 * `input` with the schema's default for each required field it leaves out. Only required ones:
 * the provider applies its own defaults to the others, and sending them would only pin values
 * the provider may change.
 */
export const withRequiredDefaults = (checker: InputChecker, input: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => {
  const missing = checker.required.filter((name) => input[name] === undefined && checker.defaults[name] !== undefined)
  return missing.length === 0 ? input : { ...input, ...Object.fromEntries(missing.map((name) => [name, checker.defaults[name]])) }
}
