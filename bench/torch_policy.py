"""PyTorch CPU reference of the policy trainers' work, for bench/policy.ts: the DPO step
and the PPO iteration of nodes/policy/ on the same tiny transformer (TinyLM of
torch_reference.py), the same shapes and hyperparameters (a JSON config from the bench).

- DPO step: summed response log-probabilities of B chosen and B rejected sequences in one
  forward pass of 2B rows, −log σ(β·h) against precomputed reference log-probabilities,
  backward, Adam.
- PPO iteration: sample B responses token by token (full forward pass per token, no
  key-value cache, as nodes/models/Transformer.ts samples), reference log-probabilities,
  critic values, per-token KL penalty with the reward at the last token, GAE, whitened
  advantages, then epochs × minibatches updates of the clipped policy loss and the
  clipped value loss.

Throughput is sequence tokens (prompt + response) through the trained model per second.
"""
import time

import torch
import torch.nn.functional as F


def response_log_probs(model, tokens, prompt):
    logits = model(tokens)[:, prompt - 1 : -1]  # [B, L, V]
    return F.log_softmax(logits, -1).gather(-1, tokens[:, prompt:, None]).squeeze(-1)  # [B, L]


def timed(step, min_time=2.0, min_reps=3):
    step()
    reps, started = 0, time.perf_counter()
    while reps < min_reps or time.perf_counter() - started < min_time:
        step()
        reps += 1
    return (time.perf_counter() - started) / reps


def dpo(config, TinyLM):
    c = config
    T = c["prompt"] + c["response"]
    B = c["dpo"]["batch"]
    torch.manual_seed(0)
    policy = TinyLM(c["width"], c["layers"], T, c["heads"], c["vocab"])
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4)
    chosen = torch.randint(0, c["vocab"], (B, T))
    rejected = torch.randint(0, c["vocab"], (B, T))
    with torch.no_grad():
        reference = response_log_probs(policy, torch.cat([chosen, rejected]), c["prompt"]).sum(-1)
    beta = c["dpo"]["beta"]

    def step():
        logp = response_log_probs(policy, torch.cat([chosen, rejected]), c["prompt"]).sum(-1)  # [2B]
        h = (logp[:B] - logp[B:]) - (reference[:B] - reference[B:])
        loss = -F.logsigmoid(beta * h).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    return 2 * B * T / timed(step)


class Critic(torch.nn.Module):
    def __init__(self, lm, width):
        super().__init__()
        self.lm = lm
        self.head = torch.nn.Linear(width, 1)

    def forward(self, tokens):
        return self.head(self.lm.hidden(tokens)).squeeze(-1)  # [B, T]


def gae(rewards, values, gamma, lam):
    advantages = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        following = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros(rewards.shape[0])
        delta = rewards[:, t] + gamma * following - values[:, t]
        last = delta + gamma * lam * last
        advantages[:, t] = last
    return advantages, advantages + values


def ppo(config, TinyLM):
    c = config
    p = c["ppo"]
    P, L = c["prompt"], c["response"]
    T = P + L
    B = p["prompts"]
    torch.manual_seed(0)
    policy = TinyLM(c["width"], c["layers"], T, c["heads"], c["vocab"])
    reference = TinyLM(c["width"], c["layers"], T, c["heads"], c["vocab"])
    reference.load_state_dict(policy.state_dict())
    critic = Critic(TinyLM(c["width"], c["layers"], T, c["heads"], c["vocab"]), c["width"])
    critic.lm.load_state_dict(policy.state_dict())
    optimizer = torch.optim.Adam(list(policy.parameters()) + list(critic.parameters()), lr=1e-4)
    prompts = torch.randint(0, c["vocab"], (B, P))
    markers = torch.tensor([0, 1])

    def iteration():
        with torch.no_grad():
            tokens = prompts
            old = []
            for _ in range(L):
                logp = F.log_softmax(policy(tokens)[:, -1], -1)  # [B, V]
                token = torch.multinomial(logp.exp(), 1)  # [B, 1]
                old.append(logp.gather(-1, token))
                tokens = torch.cat([tokens, token], 1)
            old = torch.cat(old, 1)  # [B, L]
            ref = response_log_probs(reference, tokens, P)
            values = critic(tokens)[:, P - 1 : -1]  # [B, L]
            score = torch.isin(tokens[:, P:], markers).float().sum(-1)
            rewards = -p["klCoef"] * (old - ref)
            rewards[:, -1] += score
            advantages, returns = gae(rewards, values, p["gamma"], p["lambda"])
            advantages = (advantages - advantages.mean()) / (advantages.var() + 1e-8).sqrt()
        size = B // p["minibatches"]
        for _ in range(p["epochs"]):
            for m in range(p["minibatches"]):
                rows = slice(m * size, (m + 1) * size)
                logp = response_log_probs(policy, tokens[rows], P)
                ratio = (logp - old[rows]).exp()
                a = advantages[rows]
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - p["clip"], 1 + p["clip"])).mean()
                v = critic(tokens[rows])[:, P - 1 : -1]
                v_clipped = values[rows] + (v - values[rows]).clamp(-p["clip"], p["clip"])
                vf = 0.5 * torch.max((v - returns[rows]) ** 2, (v_clipped - returns[rows]) ** 2).mean()
                loss = pg + p["valueCoef"] * vf
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss.item()

    return B * T / timed(iteration)


def main(config, TinyLM):
    results = {}
    for threads in config["threads"]:
        torch.set_num_threads(threads)
        results[f"{threads} thread{'s' if threads > 1 else ''}"] = {"dpo tok/s": dpo(config, TinyLM), "ppo tok/s": ppo(config, TinyLM)}
    return {"version": torch.__version__, "results": results}
