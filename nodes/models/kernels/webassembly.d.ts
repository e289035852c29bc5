/**
 * The part of the WebAssembly JavaScript API the kernels' loader and build use. The
 * project compiles against ES2023 and Node's types, which do not declare it (the DOM
 * library does). https://webassembly.github.io/spec/js-api/
 */
declare namespace WebAssembly {
  interface ModuleDescriptor {
    readonly module: string
    readonly name: string
    readonly kind: "function" | "table" | "memory" | "global" | "tag"
  }
  class Module {
    constructor(bytes: Uint8Array)
    static imports(module: Module): Array<ModuleDescriptor>
    static exports(module: Module): Array<Omit<ModuleDescriptor, "module">>
    static customSections(module: Module, name: string): Array<ArrayBuffer>
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>)
    readonly exports: Record<string, unknown>
  }
  class Memory {
    readonly buffer: ArrayBuffer | SharedArrayBuffer
  }
  class Global {
    value: number
  }
}
