/**
 * Every module a preparation loads, observed through Node's module hooks
 * (`module.registerHooks`): a local file by the hash of its bytes and of the package.json
 * that scopes it, a package file by its package's directory and version, each bare import
 * of a package from a local file by the directory it finds, and a local module found
 * missing as absent (it may appear later). Only the modules `accept` takes are noted (a
 * resident process's own recording leaves out the modules of one command: ../../cli/ResidentServer.ts).
 * Returns the hooks' removal.
 */
import * as module from "node:module"
import { fileURLToPath } from "node:url"
import { bareName } from "../Packages.ts"
import { isPackageFile, type Recording } from "./Recording.ts"

export const observeModules = (recording: Recording, accept: (url: string) => boolean = () => true): () => void => {
  const hooks = module.registerHooks({
    resolve: (specifier, context, next) => {
      // most imports are a package's own (effect's modules importing each other): nothing to note
      const { parentURL } = context
      if (
        !recording.recording() || parentURL === undefined || !parentURL.startsWith("file:") || parentURL.includes("/node_modules/") ||
        !accept(parentURL)
      ) {
        return next(specifier, context)
      }
      return recording.quietly(() => {
        const parent = fileURLToPath(parentURL)
        if (isPackageFile(parent)) return next(specifier, context)
        const name = bareName(specifier)
        // a local file's import of a package: which copy it finds (or that none is there) is part of what ran
        if (name !== undefined) recording.noteImport(name, parent)
        try {
          return next(specifier, context)
        } catch (error) {
          // a local module that is not there (an import the code tolerates failing) may appear later
          if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && /^(file:|\.{0,2}\/)/.test(specifier)) {
            recording.noteExists(fileURLToPath(new URL(specifier, context.parentURL)), false)
          }
          throw error
        }
      })
    },
    load: (url, context, next) =>
      recording.quietly(() => {
        const loaded = next(url, context)
        if (!recording.recording() || !url.startsWith("file:") || !accept(url)) return loaded
        const file = fileURLToPath(url)
        // for TypeScript, `source` may already be stripped: the file's bytes are hashed
        if (isPackageFile(file)) recording.notePackage(file)
        else recording.noteModule(file)
        return loaded
      })
  })
  return () => hooks.deregister()
}
