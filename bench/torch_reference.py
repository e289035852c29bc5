"""PyTorch CPU reference for bench/tensors.ts: the same tiny causal transformer
(pre-LayerNorm GPT-2 blocks, tanh GELU, LM head tied to the token embedding), the
same shapes (batch 32, vocab 256; d=64 L=2 T=32 and d=128 L=4 T=64, 4 heads) and the
same training step (mean next-token negative log-likelihood, backward, Adam).
Prints one JSON line: tokens/s per size, with 1 thread and with all cores, per second
of wall-clock time and per second of the process's CPU time (what the step costs on a
machine shared with other work), and per second of its fastest step (the one least
disturbed by other work).

With `policy '<json config>'` (bench/policy.ts) it times the DPO step and the PPO
iteration of nodes/policy/ instead; see torch_policy.py.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, BATCH = 256, 32
SIZES = [("d=64 L=2 T=32", 64, 2, 32, 4), ("d=128 L=4 T=64", 128, 4, 64, 4)]


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(B, T, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))  # [B, H, T, dh]
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads) + mask  # [B, H, T, T]
        x = x + self.out((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class TinyLM(torch.nn.Module):
    def __init__(self, d, layers, length, heads, vocab=VOCAB):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(length, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.lnf = torch.nn.LayerNorm(d, eps=1e-5)
        self.register_buffer("mask", torch.triu(torch.full((length, length), -1e9), diagonal=1))

    def hidden(self, tokens):
        B, T = tokens.shape
        x = self.tok(tokens) + self.pos(torch.arange(T))
        for block in self.blocks:
            x = block(x, self.mask[:T, :T])
        return self.lnf(x)  # [B, T, d]

    def forward(self, tokens):
        return self.hidden(tokens) @ self.tok.weight.T  # [B, T, V]


def tokens_per_second(d, layers, length, heads):
    torch.manual_seed(0)
    model = TinyLM(d, layers, length, heads)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, VOCAB, (BATCH, length))

    def step():
        logits = model(tokens)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    step()
    reps, best, started, cpu = 0, math.inf, time.perf_counter(), time.process_time()
    while reps < 3 or time.perf_counter() - started < 2:
        call = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - call)
        reps += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return BATCH * length * reps / wall, BATCH * length * reps / cpu, BATCH * length / best


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "policy":
    import torch_policy

    print(json.dumps(torch_policy.main(json.loads(sys.argv[2]), TinyLM)))
    sys.exit(0)

results = {}
for threads in (1, os.cpu_count()):
    torch.set_num_threads(threads)
    row = {}
    for name, d, layers, length, heads in SIZES:
        row[f"{name} tok/s"], row[f"{name} tok/CPU-s"], row[f"{name} tok/s best step"] = tokens_per_second(d, layers, length, heads)
    results[f"{threads} thread{'s' if threads > 1 else ''}"] = row
print(json.dumps({"version": torch.__version__, "results": results}))
