/**
 * What travels through the job queue (JobQueue.ts) besides the job itself (a `Job.Job`, the
 * BullMQ job's data): what a worker reports while it runs the job, batched into the job's
 * progress updates (`Reports`), and how the job ended, the BullMQ job's return value
 * (`Job.Outcome`). Both are decoded with their Schemas where they arrive, so a worker of another
 * version of Ablate is told apart from a broken answer.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Job from "../Job.ts"

/** One progress update of a job: what its worker reported since the last one, in order. */
export const Reports = Schema.Struct({ reports: Schema.Array(Job.Reported) })
export type Reports = typeof Reports.Type

const decodeReports = Schema.decodeUnknownOption(Reports)
const decodeOutcome = Schema.decodeUnknownOption(Job.Outcome)

/** The reports a progress update carries (none when it is not one of ours). */
export const reportsOf = (data: unknown): ReadonlyArray<Job.Reported> => Option.match(decodeReports(data), { onNone: () => [], onSome: (r) => r.reports })

/** How a job ended, from the return value its worker gave it. */
export const outcomeOf = (returned: unknown): Effect.Effect<Job.Done, Job.Failure> =>
  Option.match(decodeOutcome(returned), {
    onNone: () =>
      Effect.fail(Job.nodeFailure("its worker answered with a result this coordinator cannot read (is it another version of Ablate?)")),
    onSome: (outcome) => (outcome.type === "done" ? Effect.succeed(outcome.done) : Effect.fail(outcome.failure))
  })
