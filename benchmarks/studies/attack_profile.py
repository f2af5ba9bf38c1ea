"""Where an APGD-CE-100 and a PGD-40 run spend their time (issue 21 point 4): cProfile over the
attack engine, split into the model's forward + backward (+ loss), the compiled ``pgd_step``,
and everything else in the engine (checkpoints, success test, active-set compaction, start
points). Models: the shipped ERM and CF-INVAR zoo models (seed 0; --models erm,pgd_at for others), 1,000 easy-split images
(ERM is ~100% accurate there, so every image is attacked), ℓ∞ ε = 0.1.

    OMP_NUM_THREADS=1 python benchmarks/studies/attack_profile.py [--n 1000] [--eps 0.1] [--ops]

Prints one line per (model, attack): wall seconds and the three shares. ``--ops`` instead splits
the CPU time by ATen op family (torch.profiler), once on the plain model and once through the
engine's gradient view (attacks/gradient_view.py), to show where the model's own time goes.
"""
import argparse
import cProfile
import pstats
import time

import torch

from shortcutbench.attacks import APGD, PGD
from shortcutbench.attacks import engine


def _model(data, method):
    """The shipped zoo model of ``method``, seed 0 (what the attack track and bench_attacks.py use)."""
    from shortcutbench.zoo.catalogue import model_name
    from shortcutbench.zoo.shipped import load_shipped_model

    return load_shipped_model(model_name(method), 0)[0]


def _cumulative(stats: pstats.Stats, func_name: str) -> float:
    return sum(v[3] for k, v in stats.stats.items() if k[2] == func_name)


def profile(attack, model, x, y):
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    res = attack(model, x, y)
    prof.disable()
    wall = time.perf_counter() - t
    st = pstats.Stats(prof)
    model_s = _cumulative(st, engine._loss_grad.__name__)
    step_s = _cumulative(st, "pgd_step")
    with torch.no_grad():
        robust = float((model(res.x_adv).argmax(1) == y).float().mean())
    return wall, model_s, step_s, robust


# ATen op → family, for the --ops split (self CPU time; the rest is the engine and the loss)
_FAMILIES = {"convolution": ("convolution",), "max-pool (+ its zero fill)": ("max_pool", "fill_"),
             "ReLU": ("clamp_min", "threshold_backward", "relu"), "pgd_step (compiled)": ("pgd_step",)}


def op_split(attack, model, x, y):
    """Self CPU seconds per op family of one attack run (torch.profiler)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        attack(model, x, y)
    total, fams = 0.0, {f: 0.0 for f in _FAMILIES}
    for ev in prof.key_averages():
        total += ev.self_cpu_time_total
        for fam, keys in _FAMILIES.items():
            if any(k in ev.key for k in keys):
                fams[fam] += ev.self_cpu_time_total
                break
    fams["rest (engine, loss, copies)"] = total - sum(fams.values())
    return total / 1e6, {f: v / total for f, v in fams.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--models", default="erm,cf_invar")
    ap.add_argument("--ops", action="store_true", help="split by ATen op family, plain model vs gradient view")
    args = ap.parse_args()
    from shortcutbench.tracks.common import colored_mnist

    from shortcutbench.zoo.catalogue import SEED_DATA

    data = colored_mnist(None, SEED_DATA)
    split = data["easy"]
    idx = torch.arange(0, len(split), max(len(split) // args.n, 1))[: args.n]
    x, y = split.images(idx), split.digit[idx]
    attacks = {"apgd-ce-100": APGD(eps=args.eps, steps=100, loss="ce", seed=0),
               "pgd-40": PGD(eps=args.eps, steps=40, step_size=2.5 * args.eps / 40, seed=0)}
    print(f"torch threads {torch.get_num_threads()}, n = {len(y)}, eps = {args.eps}")
    for method in args.models.split(","):
        model = _model(data, method)
        if args.ops:
            import os

            for how, plain in (("plain model", "1"), ("gradient view", "0")):
                os.environ["SHORTCUTBENCH_PLAIN_ATTACK_MODEL"] = plain
                for name, attack in attacks.items():
                    total, shares = op_split(attack, model, x, y)
                    print(f"{method:9s} {name:12s} {how:13s} {total:6.2f} s  " +
                          "  ".join(f"{f} {100 * v:4.1f}%" for f, v in shares.items()), flush=True)
            continue
        for name, attack in attacks.items():
            wall, model_s, step_s, robust = profile(attack, model, x, y)
            rest = wall - model_s - step_s
            print(f"{method:9s} {name:12s} wall {wall:6.2f} s  model fwd+bwd {100 * model_s / wall:5.1f}%  "
                  f"pgd_step {100 * step_s / wall:4.1f}%  rest of the engine {100 * rest / wall:4.1f}%  "
                  f"robust acc {100 * robust:.1f}%", flush=True)


if __name__ == "__main__":
    main()
