/**
 * The connection to the job queue's Redis as both its sides see it (internal/BullQueue.ts, the
 * coordinator; internal/QueueWorker.ts, a worker): the server must answer within 10 s when
 * they open (else `QueueUnavailable`), and once open, a lost connection is ridden out — ioredis
 * reconnects, commands wait — with one notice when it is lost and one when it is back, however
 * many errors the clients report meanwhile.
 */
import { isNotConnectionError } from "bullmq"
import * as Effect from "effect/Effect"
import { QueueUnavailable, reasonOf } from "../Errors.ts"

/** How long the server has to answer when a side opens. */
const readyWithinMs = 10_000

/** What a side is told of its connection, once open. */
export interface Notices {
  readonly lost: (reason: string) => void
  readonly back: () => void
}

/**
 * The watch of one side's connection to `url`. Its clients report their errors to `onError`
 * (true for an error of the connection) and their being ready again to `onReady`; `open`
 * waits for them to be ready.
 */
export const watch = (url: string, notices: Notices) => {
  let lastError = "no answer"
  let down = false
  let opened = false
  return {
    onError: (error: Error): boolean => {
      lastError = reasonOf(error)
      if (isNotConnectionError(error)) return false
      if (opened && !down) {
        down = true
        notices.lost(lastError)
      }
      return true
    },
    onReady: (): void => {
      if (!down) return
      down = false
      notices.back()
    },
    /** Whether the side has opened: errors before that are its opening's, reported by `open`. */
    isOpen: (): boolean => opened,
    /** Wait for `ready` (the clients' `waitUntilReady`); fails with the last error when the server does not answer in time. */
    open: (ready: () => Promise<unknown>): Effect.Effect<void, QueueUnavailable> =>
      Effect.promise(ready).pipe(
        Effect.timeoutOrElse({ duration: readyWithinMs, orElse: () => Effect.fail(new QueueUnavailable({ url, reason: lastError })) }),
        Effect.andThen(Effect.sync(() => void (opened = true)))
      )
  }
}
