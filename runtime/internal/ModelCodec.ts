/**
 * Model artifacts in safetensors layout: an 8-byte little-endian header length, a
 * JSON header (tensor dtype, shape, byte offsets; the model config as a string in
 * `__metadata__.config`), then the raw little-endian F32 data. Tensors are written in
 * name order and the header is canonical JSON, so equal models give equal bytes.
 */
import type { ModelValue, Tensor } from "../../dsl/Artifact.ts"
import { InvariantError } from "../../dsl/Errors.ts"
import { canonicalJson } from "../../dsl/internal/Canonical.ts"

interface HeaderEntry {
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly data_offsets: readonly [number, number]
}

/** Encode a model as safetensors bytes. */
export const encode = (value: ModelValue): Uint8Array => {
  const names = Object.keys(value.tensors).sort()
  const header: Record<string, unknown> = { __metadata__: { config: canonicalJson(value.config) } }
  let offset = 0
  for (const name of names) {
    const tensor = value.tensors[name]!
    const size = tensor.shape.reduce((a, b) => a * b, 1)
    if (size !== tensor.data.length) {
      throw new InvariantError({
        what: `model tensor "${name}"`,
        reason: `shape [${tensor.shape.join(", ")}] holds ${size} values but data has ${tensor.data.length}`
      })
    }
    header[name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + tensor.data.byteLength] }
    offset += tensor.data.byteLength
  }
  let headerText = canonicalJson(header)
  headerText += " ".repeat((8 - ((8 + headerText.length) % 8)) % 8)
  const headerBytes = new TextEncoder().encode(headerText)
  const out = new Uint8Array(8 + headerBytes.length + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  let at = 8 + headerBytes.length
  for (const name of names) {
    const data = value.tensors[name]!.data
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at)
    at += data.byteLength
  }
  return out
}

/** Decode safetensors bytes written by `encode`. */
export const decode = (bytes: Uint8Array): ModelValue => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>
  const start = 8 + headerLength
  const tensors: Record<string, Tensor> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue
    const { dtype, shape, data_offsets: [begin, end] } = entry as HeaderEntry
    if (dtype !== "F32") throw new InvariantError({ what: `model tensor "${name}"`, reason: `dtype ${dtype} is not supported (F32 only)` })
    tensors[name] = { shape, data: new Float32Array(bytes.slice(start + begin, start + end).buffer) }
  }
  const metadata = header["__metadata__"] as { readonly config?: string } | undefined
  return { config: JSON.parse(metadata?.config ?? "{}") as ModelValue["config"], tensors }
}
