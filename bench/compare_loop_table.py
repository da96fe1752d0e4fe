"""The table of bench/compare-loop.sh: the whole loop of each tool against the PyTorch twin.

    python bench/compare_loop_table.py OUT_DIR --seeds 0 1 2 [--threads N]

Per tool, over the seeds: wall time (process start to exit, measured outside the tool), time to
a common accuracy (the lowest final accuracy among the tools on that seed, read off each tool's
test evaluations after the warm-up and each round, counted from the start of its training, so
data decoding is left out), the final accuracy (the model selected by validation) and
supervised-only accuracy. Ratios are to the twin, per seed, then averaged.
"""

import argparse
import json
import os
import statistics
import sys


def mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def selftrain_run(dir):
    run = os.path.join(dir, "run")
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    curve = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("type") == "evaluation" and r.get("split") == "test":
                curve.append((r["elapsed_secs"], 100.0 * r["report"]["accuracy"]))
    acc = lambda key: 100.0 * summary[key]["accuracy"] if summary.get(key) else None
    breakdown = summary.get("time_breakdown") or {}
    return {
        "final": acc("best_test"),
        "supervised": acc("baseline_test"),
        "curve": curve,
        "breakdown": breakdown,
    }


def twin_run(dir):
    with open(os.path.join(dir, "result.json")) as f:
        r = json.load(f)
    curve = [(p["elapsed_s"], 100.0 * p["test_acc"]) for p in r["test_curve"]]
    return {
        "final": 100.0 * r["best_acc"],
        "supervised": 100.0 * r["supervised_only_acc"],
        "curve": curve,
        "torch": r.get("torch_version"),
    }


def time_to(curve, target):
    for elapsed, acc in curve:
        if acc >= target - 1e-9:
            return elapsed
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()

    tools = sorted(d for d in os.listdir(a.out) if d.startswith("selftrain-"))
    tools.append("pytorch-twin")
    runs = {}
    for tool in tools:
        for seed in a.seeds:
            dir = os.path.join(a.out, tool, f"seed-{seed}")
            if not os.path.exists(os.path.join(dir, "wall_s")):
                continue
            r = twin_run(dir) if tool == "pytorch-twin" else selftrain_run(dir)
            r["wall"] = float(open(os.path.join(dir, "wall_s")).read())
            runs[(tool, seed)] = r
    if not any(t == "pytorch-twin" for t, _ in runs):
        sys.exit("no finished twin run to compare with")

    for seed in a.seeds:
        finals = [r["final"] for (t, s), r in runs.items() if s == seed]
        target = min(finals) if finals else None
        for (t, s), r in runs.items():
            if s == seed:
                r["target"] = target
                r["to_target"] = time_to(r["curve"], target)

    print(f"seeds {' '.join(a.seeds)}, threads {a.threads or 'default'}; mean ± sd over seeds")
    print()
    print("| tool | runs | wall s | × twin | time to common acc s | × twin | best-by-val acc % | supervised-only acc % |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in tools:
        seeds = [s for s in a.seeds if (tool, s) in runs]
        if not seeds:
            continue
        rs = [runs[(tool, s)] for s in seeds]
        ratio = lambda key: [
            runs[(tool, s)][key] / runs[("pytorch-twin", s)][key]
            for s in seeds
            if ("pytorch-twin", s) in runs
            and runs[(tool, s)][key] is not None
            and runs[("pytorch-twin", s)][key]
        ]
        print(
            f"| {tool} | {len(rs)} | {mean_sd([r['wall'] for r in rs])} | {mean_sd(ratio('wall'))} "
            f"| {mean_sd([r['to_target'] for r in rs])} | {mean_sd(ratio('to_target'))} "
            f"| {mean_sd([r['final'] for r in rs])} | {mean_sd([r['supervised'] for r in rs])} |"
        )
    print()
    print("Common accuracy per seed (the lowest final accuracy of the tools): " + ", ".join(
        f"seed {s}: {next(r['target'] for (t, x), r in runs.items() if x == s):.2f}%"
        for s in a.seeds
        if any(x == s for _, x in runs)
    ))
    for tool in tools:
        shares = [runs[(tool, s)].get("breakdown", {}) for s in a.seeds if (tool, s) in runs]
        shares = [b for b in shares if b]
        if shares:
            print(f"{tool}: time breakdown of seed {a.seeds[0]}: {json.dumps(shares[0])}")


if __name__ == "__main__":
    main()
