/**
 * Iterative (online) DPO: rounds of sampling from the current policy, judging the samples
 * and DPO on the judged pairs, as in iterative DPO / GSHF (Xiong et al., 2023,
 * https://arxiv.org/abs/2312.11456) and Direct Nash Optimization (Rosset et al., 2024,
 * https://arxiv.org/abs/2404.03715). Each round:
 *
 *   1. draw `promptsPerRound` distinct training prompts and sample `samplesPerPrompt`
 *      responses to each from the current policy π_t (temperature 1);
 *   2. judge each prompt's distinct responses — the task's gold reward, a reward model or
 *      a general preference model (label/Judge.ts) — and pair them, by default the judge's
 *      best against its worst: the large-margin pair of online DPO and DNO;
 *   3. take `stepsPerRound` DPO steps on minibatches of the round's pairs (PairTraining's
 *      dpoStep) against the anchor π_ref (param `anchor`): the `reference` input throughout
 *      ("fixed"), or the policy the previous round ended with ("previous", DNO's π_t; the
 *      `reference` input in the first round).
 *
 * Adam's state carries across rounds. Checkpoints fall on round boundaries only, where the
 * policy's weights are the next round's "previous" anchor, so a resumed run samples,
 * judges and trains exactly as an uninterrupted one. A round whose samples give no pair
 * (every prompt's responses identical or judged equal) trains on a response paired with
 * itself, whose gradient is zero, as an online DPO trainer does when its two completions
 * coincide (Adam's momentum still moves the weights); `round/pairs` then reads 0.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { Policy, type ResponsePair, RewardSource, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { mean } from "../evaluate/math.ts"
import * as Judge from "../label/Judge.ts"
import * as PolicyModel from "../models/Policy.ts"
import { dpo } from "./dpo.ts"
import { dpoStep, minibatch, type PairData, pairData, preferenceMetrics } from "./PairTraining.ts"
import * as Rollout from "./Rollout.ts"
import * as Trainer from "./Trainer.ts"

/** What a round trains on, and what it reports. */
interface Round {
  readonly data: PairData
  /** pairs judged this round (0 when the data is a response paired with itself) */
  readonly pairs: number
  /** mean gold reward of the round's samples */
  readonly gold: number
  /** mean judge logit of chosen over rejected */
  readonly margin: number
}

interface RoundOptions {
  readonly promptsPerRound: number
  readonly samplesPerPrompt: number
  readonly pairing: Judge.Pairing
}

/**
 * Sample from the policy, judge and pair the samples, and compute the anchor's
 * log-probabilities of the pairs (steps 1 and 2 of the module comment).
 */
const playRound = (
  policy: PolicyModel.Loaded,
  anchor: PolicyModel.Loaded,
  task: TaskView.TaskView,
  judge: Judge.Judge,
  options: RoundOptions,
  rng: Random
): Round => {
  const training = Rollout.trainingPrompts(task)
  const prompts = rng.shuffle(training).slice(0, options.promptsPerRound)
  const repeated = prompts.flatMap((p) => Array.from({ length: options.samplesPerPrompt }, () => p))
  const { responses } = PolicyModel.sample(policy, repeated, task.responseLength, { temperature: 1, topK: 0 }, rng)
  const groups = Judge.groupResponses(responses.map((response, i) => ({ prompt: repeated[i]!.id, response })), task)
  const pairs = Judge.pairResponses(groups, judge(groups), { pairing: options.pairing, pairs: 1, temperature: 0, noise: 0 }, rng)
  const gold = mean(responses.map((response, i) => task.gold(repeated[i]!.id, response)))
  if (pairs.length === 0) {
    const itself: ResponsePair = { prompt: repeated[0]!.id, chosen: responses[0]!, rejected: responses[0]!, margin: 0, flipped: false, split: "train" }
    return { data: pairData([itself], task, anchor), pairs: 0, gold, margin: 0 }
  }
  return { data: pairData(pairs, task, anchor), pairs: pairs.length, gold, margin: mean(pairs.map((p) => p.margin)) }
}

/**
 * Online DPO on the policy's own samples, judged afresh each round.
 *
 * @example
 * policy.iterativeDpo({ policy: sft, reference: sft, judge: rewardModel, task, rounds: 4, anchor: "previous" })
 */
export const iterativeDpo = Node.make({
  kind: "policy/iterativeDpo",
  version: 1,
  description: "Online iterative DPO: rounds of sampling from the policy, judging its samples (gold, reward model or general preference model) and DPO on best-vs-worst pairs.",
  tensors: true,
  metrics: {
    ...preferenceMetrics,
    "rewards/chosen": "mean implicit reward β·log π_θ/π_ref of the chosen responses",
    "rewards/rejected": "mean implicit reward β·log π_θ/π_ref of the rejected responses",
    "round/pairs": "pairs judged in the round (at the round's first step)",
    "round/gold": "mean gold reward of the round's samples, drawn from the policy as the round began",
    "round/margin": "mean judge logit of chosen over rejected among the round's pairs"
  },
  params: Schema.Struct({
    rounds: Param.int({ default: 4, min: 1, description: "Rounds of sampling, judging and training" }),
    promptsPerRound: Param.int({ default: 64, min: 1, description: "Distinct training prompts sampled each round (all of them when the task has fewer)" }),
    samplesPerPrompt: Param.int({ default: 4, min: 2, description: "Responses sampled per prompt each round, paired by the judge" }),
    stepsPerRound: Param.int({ default: 50, min: 1, description: "Adam steps of DPO on each round's pairs" }),
    pairing: Param.literal(["bestWorst", "random", "all"], {
      default: "bestWorst",
      description: "Pairs per prompt: the judge's best response against its worst (online DPO's large-margin pair), one random pair of distinct responses, or every pair"
    }),
    beta: dpo.params.fields.beta,
    lossType: dpo.params.fields.lossType,
    anchor: Param.literal(["fixed", "previous"], {
      default: "fixed",
      description: "The DPO anchor of each round: the reference input, or the policy the previous round ended with (DNO; the reference input in the first round)"
    }),
    batch: Trainer.batchParam(32),
    lr: dpo.params.fields.lr,
    seed: Param.seed
  }),
  inputs: { policy: Policy, reference: Policy, judge: RewardSource, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.suspend(() => {
      const task = TaskView.view(inputs.task)
      const judge = Judge.of(inputs.judge, task)
      // one generator draws the prompts, samples and minibatches: its state at a round boundary is all a resumed run needs
      const rng = ctx.random.split("rounds")
      const dpoOptions = { beta: params.beta, lossType: params.lossType }
      return Trainer.train({
        ctx,
        task,
        policy: inputs.policy,
        reference: inputs.reference,
        steps: params.rounds * params.stepsPerRound,
        lr: params.lr,
        loop: (policy, reference) => {
          let round: Round | undefined
          let rows: ReadonlyArray<number> = []
          return {
            random: rng,
            checkpointEvery: params.stepsPerRound,
            beforeStep: (index) => {
              if (index % params.stepsPerRound === 0) {
                // at a round's start the policy is the previous round's result: its own log-probabilities anchor a "previous" round
                const anchor = params.anchor === "previous" && index > 0 ? policy : reference
                round = playRound(policy, anchor, task, judge, params, rng)
                ctx.metric("round/pairs", round.pairs, index)
                ctx.metric("round/gold", round.gold, index)
                ctx.metric("round/margin", round.margin, index)
              }
              const count = round!.data.prompts.length
              rows = minibatch(count, Math.min(params.batch, count), rng)
            },
            loss: () => dpoStep(policy, round!.data, rows, dpoOptions),
            display: () => (round === undefined ? {} : { reward: round.gold }),
            itemsPerStep: params.batch * 2 * task.responseLength,
            unit: "tok"
          }
        }
      })
    })
})
