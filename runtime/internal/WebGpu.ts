/**
 * TensorFlow.js's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`) in Node, on Google's Dawn
 * through the `webgpu` package. The backend's package registers itself only where
 * `navigator.gpu` exists (a browser, Deno); Node has none, so here it is registered with a
 * device Dawn gives, asked for as the package's own factory asks (the adapter's limits on
 * workgroup storage, workgroups, storage buffers and buffer size, and timestamp queries where
 * the adapter has them). Nothing is put on `navigator`.
 *
 * What is put on `globalThis`: the WebGPU usage-flag namespaces `GPUBufferUsage`, `GPUMapMode`
 * and `GPUTextureUsage`, which TensorFlow.js's WebGPU kernels name as globals, as a browser
 * defines them. They are constant enums, defined only where absent and only in a process that
 * computes on webgpu; without them the backend cannot allocate a buffer.
 */
import type * as tf from "@tensorflow/tfjs-core"

const backendPackage = "@tensorflow/tfjs-backend-webgpu"
const dawnPackage = "webgpu"

/** What is used of a WebGPU adapter (a GPUAdapter). */
interface Adapter {
  readonly features: { has: (feature: string) => boolean }
  readonly limits: { readonly [limit: string]: number }
  readonly info?: unknown
  requestDevice: (descriptor: object) => Promise<unknown>
}

/** The `webgpu` package: Dawn's `create` (a `navigator.gpu`) and the WebGPU globals it defines. */
interface Dawn {
  create: (flags: ReadonlyArray<string>) => { requestAdapter: (options: object) => Promise<Adapter | null> }
  readonly globals: { readonly [name: string]: unknown }
}

/** The constructor the backend's package exports. */
interface WebGpuPackage {
  readonly WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend
}

/** The globals TensorFlow.js's WebGPU kernels read. */
const flagNamespaces = ["GPUBufferUsage", "GPUMapMode", "GPUTextureUsage"] as const

/** Why there is no adapter: what Dawn needs on this machine. */
const noAdapter = "the webgpu package (Dawn) found no GPU adapter on this machine. It needs a GPU with a Vulkan driver " +
  "(on Linux: libvulkan.so.1 and the GPU vendor's Vulkan driver; Mesa's software renderer, lavapipe, lacks features Dawn requires), " +
  "Metal (macOS) or Direct3D 12 (Windows)"

/** Whether this process has WebGPU of its own (a browser, Deno): then the backend's package registers itself. */
export const native = (): boolean => (globalThis.navigator as { readonly gpu?: unknown } | undefined)?.gpu !== undefined

/** The device descriptor TensorFlow.js's own factory asks for: the adapter's limits, and timestamp queries where it has them. */
const deviceDescriptor = (adapter: Adapter): object => ({
  requiredFeatures: adapter.features.has("timestamp-query") ? ["timestamp-query"] : [],
  requiredLimits: Object.fromEntries([
    "maxComputeWorkgroupStorageSize",
    "maxComputeWorkgroupsPerDimension",
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupSizeX",
    "maxComputeInvocationsPerWorkgroup"
  ].map((limit) => [limit, adapter.limits[limit]]))
})

/** Dawn, and the first GPU adapter it finds (null: none). */
const dawnAdapter = async (): Promise<{ readonly dawn: Dawn; readonly adapter: Adapter | null }> => {
  const dawn = (await import(dawnPackage)) as unknown as Dawn
  return { dawn, adapter: await dawn.create([]).requestAdapter({ powerPreference: "high-performance" }) }
}

/** Whether Dawn finds a GPU adapter on this machine (what the webgpu backend computes on in Node). */
export const hasAdapter = async (): Promise<boolean> => (await dawnAdapter()).adapter !== null

/**
 * Import the backend's package and register TensorFlow.js's `webgpu` backend on the first
 * adapter Dawn finds (or, in a process with WebGPU of its own, as the package registers it).
 * Why it cannot run here, where Dawn finds no adapter (what Dawn needs); undefined once registered.
 */
export const register = async (tfjs: Pick<typeof tf, "registerBackend">): Promise<string | undefined> => {
  if (native()) {
    await import(backendPackage)
    return undefined
  }
  const { dawn, adapter } = await dawnAdapter()
  if (adapter === null) return noAdapter
  for (const name of flagNamespaces) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value: dawn.globals[name], configurable: true })
  }
  const { WebGPUBackend } = (await import(backendPackage)) as unknown as WebGpuPackage
  tfjs.registerBackend("webgpu", async () => new WebGPUBackend(await adapter.requestDevice(deviceDescriptor(adapter)), adapter.info))
  return undefined
}
