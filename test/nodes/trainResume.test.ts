/**
 * A training node stopped right after a checkpoint resumes from it and ends bit-identical
 * to an uninterrupted run. The node here, reward.latentUser, draws from its batch
 * generator every step (a shuffle of each annotator's pairs and the latent noise), so
 * the resumed run matches only if the checkpoint restored the generator's state (with
 * Train.loop's `random.restore` skipped, the output hashes differ). The kill-and-resume
 * CLI test trains full-batch and draws nothing.
 */
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { data, label, reward } from "../../nodes/index.ts"
import { expectResumesBitIdentically } from "../helpers.ts"

const steps = 120 // Train.loop checkpoints every 50 steps by default

const pipeline = Pipeline.make("resume", () => {
  const task = data.preferenceTask({ items: 60, features: 4 })
  const pairs = data.pairFeatures({ pairs: label.annotators({ task, annotators: 12, pairs: 16, testPairs: 4 }), task })
  return reward.latentUser({ pairs, hidden: 8, context: 4, targets: 4, steps }, { name: "vpl" })
})

describe.each(["wasm", "cpu"] as const)("a training node that draws random batches, on the %s backend", (backend) => {
  it("stopped after a checkpoint, resumes from it and ends bit-identical to an uninterrupted run", async () => {
    const { resumed, checkpoint } = await expectResumesBitIdentically(pipeline, "vpl", { backend })
    expect(checkpoint.step).toBe(50)
    // the first progress event always passes the display's throttle: the run went on from step 51
    expect(resumed.progress["vpl"]![0]!.step).toBe(51)
  })
})
