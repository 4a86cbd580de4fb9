#!/usr/bin/env python3
"""Replays spkid's open-set decision on `spkid eval --open-set --scores FILE` outputs with other
settings, without embedding anything again: how the prior threshold, its weight and the
false-accept target of the shipped decision were chosen (bench/README.md, "Open-set decision").

Each FILE holds every test clip's score with every enrolled speaker and the store's held-out
strangers' best scores. For each setting the script rebuilds the store's threshold exactly as
src/scoring/open_set.cpp does and prints, per store, the share of impostor clips accepted and
the share of genuine clips accepted and named right.

Usage: bench/open_set_replay.py [--separation] [--prior T,...] [--weight W,...] [--target R,...] FILE...
"""
import argparse
import json
import os


def upper_quantile(best, share):
    """The score that `share` of the strangers' best scores reach, each speaker weighing the same."""
    points = []
    for scores in best.values():
        points += [(x, 1.0 / (len(scores) * len(best))) for x in scores]
    points.sort(reverse=True)
    accumulated = 0.0
    for score, weight in points:
        accumulated += weight
        if accumulated >= share - 1e-12:
            return score
    return points[-1][0]


def threshold(best, prior, weight, target):
    if not best:
        return prior
    strangers = len(best) - 1
    w = strangers / (strangers + weight)
    return w * upper_quantile(best, target) + (1 - w) * prior


def rates(clips, t):
    fa = ga = impostors = genuine = 0
    for c in clips:
        accepted = c["scores"][c["answer"]] >= t
        if c["truth"] == "":
            impostors += 1
            fa += accepted
        else:
            genuine += 1
            ga += accepted and c["answer"] == c["truth"]
    return fa / max(impostors, 1), ga / max(genuine, 1)


def separation(clips, fa_target=0.05):
    """What any threshold could give on this store: the open-set EER (strangers accepted = genuine
    clips not accepted and named right) and the genuine clips accepted and named right when at
    most `fa_target` of the strangers' clips are accepted."""
    candidates = sorted({c["scores"][c["answer"]] for c in clips}, reverse=True)
    eer, best_ga = 1.0, 0.0
    for t in candidates:
        fa, ga = rates(clips, t)
        eer = min(eer, max(fa, 1 - ga))
        if fa <= fa_target:
            best_ga = max(best_ga, ga)
    return eer, best_ga


def floats(text):
    return [float(x) for x in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--prior", type=floats, default=[5.5])
    parser.add_argument("--weight", type=floats, default=[4])
    parser.add_argument("--target", type=floats, default=[0.02])
    parser.add_argument("--separation", action="store_true",
                        help="also print each store's open-set EER and the genuine clips accepted "
                             "at 5%% strangers accepted, whatever the threshold")
    args = parser.parse_args()
    stores = {}
    for path in args.files:
        with open(path) as f:
            stores[os.path.basename(path).split(".")[0]] = json.load(f)
    if args.separation:
        for name, d in stores.items():
            eer, ga = separation(d["clips"])
            print(f"{name}: open-set EER {100 * eer:.1f}%, genuine accepted and named right at 5% "
                  f"strangers accepted {100 * ga:.1f}%")
    for prior in args.prior:
        for weight in args.weight:
            for target in args.target:
                cells = []
                for name, d in stores.items():
                    t = threshold(d["best_stranger_scores"], prior, weight, target)
                    fa, ga = rates(d["clips"], t)
                    cells.append(f"{name} FA {100 * fa:4.1f}% GA {100 * ga:5.1f}% @{t:.2f}")
                print(f"prior {prior} weight {weight} target {target}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
