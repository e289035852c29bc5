/**
 * Bradley–Terry reward-model loss (Bradley & Terry, 1952; as used for RLHF reward
 * models in Ouyang et al., 2022, https://arxiv.org/abs/2203.02155):
 *
 *   L = −E[ log σ(r(x_chosen) − r(x_rejected)) ] = E[ softplus(−(r_c − r_r)) ]
 */
import * as tf from "@tensorflow/tfjs-core"

/** Mean Bradley–Terry loss of reward margins r_c − r_r. margins: [B] → scalar */
export const bradleyTerryLoss = (margins: tf.Tensor1D): tf.Scalar =>
  tf.tidy(() => tf.mean(tf.softplus(tf.neg(margins))) as tf.Scalar)
