"""Reference pix2pix in PyTorch, for side-by-side timing with kerasgan only.

Our own implementation of the architecture and training step of the official
pytorch-CycleGAN-and-pix2pix code (Isola et al. 2017; Zhu et al. 2017), so the throughput
benchmark compares against the same work per image:

- UnetGenerator: nested skip blocks, 4x4 stride-2 convs (padding 1), LeakyReLU 0.2 down,
  ReLU up, BatchNorm2d on every block but the outermost down and the innermost down, convs
  before batch norm without bias, dropout 0.5 in the (num_downs - 5) ngf*8 blocks next to the
  innermost, tanh out.
- NLayerDiscriminator (70x70 PatchGAN, n_layers=3) on concat(condition, image).
- Weights N(0, 0.02), batch-norm scale N(1, 0.02), shifts 0.
- Step: G forward once; D step on (real, detached fake) with 0.5 * (BCE(real, 1) +
  BCE(fake, 0)) from logits; then G step on BCE(D(fake), 1) + 100 * L1; Adam(2e-4, 0.5, 0.999).

Needs torch (`pip install torch==2.13.0`, CPU wheel). Not part of the kerasgan package.

    python benchmarks/reference_torch_pix2pix.py --size 128 --batch 8    # prints img/s
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn


def _init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class SkipBlock(nn.Module):
    """One U-Net level: down -> inner block -> up, output concatenated with the level's input."""

    def __init__(self, outer_channels, inner_channels, inner=None, input_channels=None,
                 outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        input_channels = input_channels or outer_channels
        # Batch norm has its own shift, so the convs it follows carry no bias (as the reference).
        down_conv = nn.Conv2d(input_channels, inner_channels, 4, 2, 1, bias=False)
        if outermost:
            up_conv = nn.ConvTranspose2d(inner_channels * 2, outer_channels, 4, 2, 1)
            layers = [down_conv, inner, nn.ReLU(True), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner_channels, outer_channels, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down_conv,
                      nn.ReLU(True), up_conv, nn.BatchNorm2d(outer_channels)]
        else:
            up_conv = nn.ConvTranspose2d(inner_channels * 2, outer_channels, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.BatchNorm2d(inner_channels), inner,
                      nn.ReLU(True), up_conv, nn.BatchNorm2d(outer_channels)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_channels=3, output_channels=3, num_downs=8, filters=64, dropout=True):
        super().__init__()
        block = SkipBlock(filters * 8, filters * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = SkipBlock(filters * 8, filters * 8, block, dropout=dropout)
        block = SkipBlock(filters * 4, filters * 8, block)
        block = SkipBlock(filters * 2, filters * 4, block)
        block = SkipBlock(filters, filters * 2, block)
        self.model = SkipBlock(output_channels, filters, block, input_channels=input_channels,
                               outermost=True)
        self.apply(_init_weights)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_channels=6, filters=64, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(input_channels, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        multiplier = 1
        for layer in range(1, n_layers + 1):
            previous, multiplier = multiplier, min(2**layer, 8)
            stride = 1 if layer == n_layers else 2
            layers += [
                nn.Conv2d(filters * previous, filters * multiplier, 4, stride, 1, bias=False),
                nn.BatchNorm2d(filters * multiplier),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(filters * multiplier, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, x):
        return self.model(x)


def trainable_parameters(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def num_downs_for(size):
    return int(size).bit_length() - 1  # log2: 7 at 128 px, 8 at 256 px


class Pix2PixReference:
    """Generator, discriminator, optimizers and the reference `optimize_parameters` step."""

    def __init__(self, size=256, input_channels=3, output_channels=3, filters=64):
        self.generator = UnetGenerator(input_channels, output_channels, num_downs_for(size), filters)
        self.discriminator = NLayerDiscriminator(input_channels + output_channels, filters)
        self.generator_optimizer = torch.optim.Adam(
            self.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.gan_loss = nn.BCEWithLogitsLoss()
        self.l1 = nn.L1Loss()
        self.l1_weight = 100.0
        self.generator.train()
        self.discriminator.train()

    def _adversarial(self, logits, real):
        return self.gan_loss(logits, torch.full_like(logits, 1.0 if real else 0.0))

    def train_step(self, condition, target):
        fake = self.generator(condition)
        # Discriminator: real pair and detached fake pair, loss halved.
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(True)
        self.discriminator_optimizer.zero_grad()
        fake_pair = torch.cat([condition, fake], 1)
        d_fake = self._adversarial(self.discriminator(fake_pair.detach()), real=False)
        d_real = self._adversarial(self.discriminator(torch.cat([condition, target], 1)), real=True)
        d_loss = 0.5 * (d_fake + d_real)
        d_loss.backward()
        self.discriminator_optimizer.step()
        # Generator, against the updated discriminator.
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(False)
        self.generator_optimizer.zero_grad()
        g_gan = self._adversarial(self.discriminator(fake_pair), real=True)
        g_loss = g_gan + self.l1_weight * self.l1(fake, target)
        g_loss.backward()
        self.generator_optimizer.step()
        return float(d_loss.detach()), float(g_loss.detach())


def _images(batch, size, channels, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((batch, channels, size, size), generator=generator) * 2 - 1


def measure_train(size, batch, steps=10, warmup=2, threads=2, filters=64):
    """Seconds per training step (each step timed; warm-up excluded)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Pix2PixReference(size, filters=filters)
    condition, target = _images(batch, size, 3, 1), _images(batch, size, 3, 2)
    for _ in range(warmup):
        model.train_step(condition, target)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_step(condition, target)  # returns floats: the step has finished
        times.append(time.perf_counter() - start)
    return times


def measure_generate(size, batch, steps=20, warmup=3, threads=2, filters=64):
    """Seconds per generator forward pass in eval mode under torch.inference_mode()."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    generator = UnetGenerator(3, 3, num_downs_for(size), filters).eval()
    condition = _images(batch, size, 3, 1)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            generator(condition)
        for _ in range(steps):
            start = time.perf_counter()
            generator(condition)
            times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--mode", choices=("train", "generate", "params"), default="train")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.mode == "params":
        model = Pix2PixReference(args.size)
        print(json.dumps({"generator": trainable_parameters(model.generator),
                          "discriminator": trainable_parameters(model.discriminator)}))
        return 0
    measure = measure_train if args.mode == "train" else measure_generate
    times = measure(args.size, args.batch, args.steps, args.warmup, args.threads)
    median = statistics.median(times)
    print(json.dumps({"mode": args.mode, "size": args.size, "batch": args.batch,
                      "median_step_s": median, "images_per_s": args.batch / median,
                      "step_times_s": times}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
