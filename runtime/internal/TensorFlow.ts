/**
 * TensorFlow.js as Ablate computes with it: `@tensorflow/tfjs-core` with the gradient of
 * every op and the chained ops (`x.add(y)`, `x.mul(...)`) registered, which core's entry
 * alone does not register. Importing this module is what the umbrella `@tensorflow/tfjs`
 * did for Ablate, without its layers, converter, data and webgl packages. No backend is
 * registered here: runtime/TensorBackend.ts imports the one asked for.
 */
import "@tensorflow/tfjs-core"
// core's gradients and chained ops, bundled once (see TfjsGradientsBundle.ts)
import "./tfjs-gradients.cjs"
// the chained ops' types (`Tensor.add` ...), declared by core beside its ESM files
import type {} from "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js"
