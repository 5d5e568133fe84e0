#!/usr/bin/env python3
"""PyTorch CPU side of `deno task bench --torch`: the MiT-B0 + SegFormer training step.

The same network, loss and optimiser as UDA-Lab's `mit_b0+segformer` (NHWC there, NCHW here):
MiT-B0 (dims 32/64/160/256, depths 2/2/2/2, heads 1/2/5/8, spatial reduction 8/4/2/1, MLP ratio 4,
drop-path 0.1), the all-MLP SegFormer head (256 channels, 1x1 fuse + BatchNorm + ReLU, dropout
0.1), cross-entropy on logits upsampled bilinearly to the label size, AdamW (lr 6e-5, wd 0.01).
Written from the SegFormer paper and mmseg's `mix_transformer.py` / `segformer_head.py` layout;
installs nothing and downloads nothing. Debian's PyTorch: `apt-get install python3-torch`
(1.13 on bookworm), run with `/usr/bin/python3`.

Prints one JSON line with the median milliseconds of a train step (and of an eval forward) over
`--repeats` rounds after two warm-up rounds, on `--threads` intra-op threads.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x, h, w):
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        if self.sr_ratio > 1:
            r = x.transpose(1, 2).reshape(b, c, h, w)
            r = self.norm(self.sr(r).reshape(b, c, -1).transpose(1, 2))
        else:
            r = x
        kv = self.kv(r).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        attn = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h, w):
        x = self.fc1(x)
        b, n, c = x.shape
        x = self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(x))


def drop_path(x, rate, training):
    if not training or rate == 0:
        return x
    keep = 1 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class Block(nn.Module):
    def __init__(self, dim, heads, sr, drop):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MixFFN(dim, 4 * dim)
        self.drop = drop

    def forward(self, x, h, w):
        x = x + drop_path(self.attn(self.norm1(x), h, w), self.drop, self.training)
        return x + drop_path(self.mlp(self.norm2(x), h, w), self.drop, self.training)


class MiT(nn.Module):
    def __init__(self, dims=(32, 64, 160, 256), depths=(2, 2, 2, 2), heads=(1, 2, 5, 8),
                 srs=(8, 4, 2, 1), drop_path_rate=0.1):
        super().__init__()
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.embeds, self.embed_norms, self.stages, self.norms = (
            nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList())
        cin, k = 3, 0
        for s, dim in enumerate(dims):
            kernel, stride = (7, 4) if s == 0 else (3, 2)
            self.embeds.append(nn.Conv2d(cin, dim, kernel, stride, kernel // 2))
            self.embed_norms.append(nn.LayerNorm(dim))
            self.stages.append(nn.ModuleList(
                Block(dim, heads[s], srs[s], rates[k + i]) for i in range(depths[s])))
            self.norms.append(nn.LayerNorm(dim, eps=1e-6))
            cin, k = dim, k + depths[s]

    def forward(self, x):
        features = []
        for embed, embed_norm, blocks, norm in zip(self.embeds, self.embed_norms, self.stages,
                                                   self.norms):
            x = embed(x)
            b, c, h, w = x.shape
            x = embed_norm(x.flatten(2).transpose(1, 2))
            for block in blocks:
                x = block(x, h, w)
            x = norm(x).transpose(1, 2).reshape(b, c, h, w)
            features.append(x)
        return features


class SegFormerHead(nn.Module):
    def __init__(self, dims=(32, 64, 160, 256), embed=256, classes=19):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(d, embed) for d in dims)
        self.fuse = nn.Conv2d(4 * embed, embed, 1, bias=False)
        self.bn = nn.BatchNorm2d(embed)
        self.dropout = nn.Dropout2d(0.1)
        self.pred = nn.Conv2d(embed, classes, 1)

    def forward(self, features):
        size = features[0].shape[2:]
        outs = []
        for f, linear in zip(features, self.linears):
            b, c, h, w = f.shape
            y = linear(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, h, w)
            outs.append(F.interpolate(y, size=size, mode="bilinear", align_corners=False))
        x = F.relu(self.bn(self.fuse(torch.cat(outs[::-1], 1))))
        return self.pred(self.dropout(x))


def median_ms(fn, repeats):
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder, head = MiT(), SegFormerHead()
    params = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=6e-5, weight_decay=0.01)
    image = torch.randn(args.batch, 3, args.size, args.size)
    label = torch.randint(0, 19, (args.batch, args.size, args.size))

    def train_step():
        encoder.train(), head.train()
        logits = head(encoder(image))
        logits = F.interpolate(logits, size=label.shape[1:], mode="bilinear", align_corners=False)
        loss = F.cross_entropy(logits, label, ignore_index=255)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def forward():
        encoder.eval(), head.eval()
        with torch.no_grad():
            head(encoder(image))

    print(json.dumps({
        "backend": "pytorch-cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": "mit_b0+segformer",
        "batch": args.batch,
        "height": args.size,
        "width": args.size,
        "train_step_ms": round(median_ms(train_step, args.repeats), 1),
        "forward_ms": round(median_ms(forward, args.repeats), 1),
        "repeats": args.repeats,
    }))


if __name__ == "__main__":
    main()
