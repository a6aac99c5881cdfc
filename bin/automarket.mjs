#!/usr/bin/env node
// The `automarket` command. Runs the TypeScript sources through tsx's loader.
import { register } from "tsx/esm/api"

register()
await import(new URL("../src/cli/main.ts", import.meta.url).href)
