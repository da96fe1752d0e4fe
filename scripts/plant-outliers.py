#!/usr/bin/env python3
"""Planted outliers: plant foreign images in a data root's unlabelled pool, and score a run's
outlier filter against them. Standard library only; see scripts/plant-outliers.sh."""

import argparse
import csv
import os
import random
import re
import struct
import sys
import zlib
from pathlib import Path

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm"}
PLANTED_LIST = "planted.txt"


def die(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def read_idx_images(path):
    """(count, rows, cols, bytes) of an uncompressed IDX3 ubyte image file."""
    data = Path(path).read_bytes()
    if len(data) < 16:
        die(f"{path}: too short for an IDX image file")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803:
        die(f"{path}: not an IDX3 ubyte image file (magic {magic:#010x}, expected 0x00000803)")
    if len(data) != 16 + count * rows * cols:
        die(f"{path}: {len(data)} bytes, expected {16 + count * rows * cols} for {count} images")
    return count, rows, cols, data[16:]


def png_gray(width, height, pixels):
    """An 8-bit grayscale PNG."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + pixels[r * width : (r + 1) * width] for r in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def png_size(path):
    """(width, height) of a PNG, or None for another format."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def pool_images(root):
    """{class folder: sorted image names} of ROOT/unlabeled."""
    pool = Path(root) / "unlabeled"
    if not pool.is_dir():
        die(f"{pool}: no unlabelled pool (expected unlabeled/<class>/ folders)")
    classes = {}
    for d in sorted(p for p in pool.iterdir() if p.is_dir()):
        classes[d.name] = sorted(
            f.name for f in d.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS
        )
    if not classes or not any(classes.values()):
        die(f"{pool}: the pool has no class folders with images")
    return classes


def plant(args):
    out = Path(args.out)
    if not 0.0 < args.fraction < 1.0:
        die(f"--fraction must be within (0, 1), got {args.fraction}")
    classes = pool_images(out)
    pool_size = sum(len(v) for v in classes.values())
    count, rows, cols, pixels = read_idx_images(args.images)
    some = next(out / "unlabeled" / c / names[0] for c, names in classes.items() if names)
    size = png_size(some)
    if size is not None and size != (cols, rows):
        die(f"the pool's images are {size[0]}x{size[1]}, the IDX images {cols}x{rows}")
    rng = random.Random(args.seed)
    # The planted images make up `fraction` of the resulting pool.
    if args.replace:
        n = round(args.fraction * pool_size)
    else:
        n = round(args.fraction * pool_size / (1.0 - args.fraction))
    n = max(1, n)
    if n > count:
        die(f"{n} images to plant, the IDX file has {count}")
    if args.replace:
        # Remove n pool images chosen at random (links in the copy, not the originals).
        everything = [(c, name) for c, names in classes.items() for name in names]
        for c, name in rng.sample(everything, n):
            (out / "unlabeled" / c / name).unlink()
    folders = list(classes)
    chosen = rng.sample(range(count), n)
    tag = args.tag or Path(args.images).parent.name or "foreign"
    tag = re.sub(r"[^A-Za-z0-9_-]", "-", tag)
    planted = []
    for k, i in enumerate(chosen):
        folder = folders[k % len(folders)] if args.spread == "even" else rng.choice(folders)
        rel = f"unlabeled/{folder}/planted-{tag}-{i:05d}.png"
        image = pixels[i * rows * cols : (i + 1) * rows * cols]
        (out / rel).write_bytes(png_gray(cols, rows, image))
        planted.append(rel)
    (out / PLANTED_LIST).write_text("".join(f"{p}\n" for p in sorted(planted)))
    total = pool_size + (0 if args.replace else n)
    how = "replacing as many pool images" if args.replace else "added"
    print(
        f"==> planted {n} images from {args.images} into {out}/unlabeled ({how}); "
        f"{n / total:.1%} of the {total}-image pool; list in {out / PLANTED_LIST}"
    )


def round_csv(run, wanted=None):
    """The run's round CSV of round `wanted` (default: the last round)."""
    rounds = []
    for f in Path(run).iterdir():
        m = re.fullmatch(r"pseudo_labels_round_(\d+)\.csv", f.name)
        if m:
            rounds.append((int(m.group(1)), f))
    if not rounds:
        die(f"{run}: no pseudo_labels_round_N.csv (did the run reach a round?)")
    if wanted is None:
        return max(rounds)
    for found in rounds:
        if found[0] == wanted:
            return found
    die(f"{run}: no pseudo_labels_round_{wanted:03}.csv (rounds {min(rounds)[0]}–{max(rounds)[0]})")


def data_root_of(run):
    """The `data` entry of the run's config.toml."""
    config = Path(run) / "config.toml"
    try:
        import tomllib

        with open(config, "rb") as f:
            return tomllib.load(f).get("data")
    except (ImportError, OSError, ValueError):
        m = re.search(r'^data\s*=\s*"([^"]*)"', config.read_text(), re.M) if config.exists() else None
        return m.group(1) if m else None


def auroc(positives, negatives):
    """P(a planted image scores above a clean one), ties counted half (Mann–Whitney)."""
    if not positives or not negatives:
        return None
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    p, q = len(positives), len(negatives)
    return (rank_sum - p * (p + 1) / 2) / (p * q)


def ratio(a, b):
    return f"{a / b:.3f}" if b else "n/a"


def report(args):
    run = Path(args.run)
    if not run.is_dir():
        die(f"{run}: not a run directory")
    round_no, path = round_csv(run, args.round)
    listing = args.planted
    if listing is None:
        root = data_root_of(run)
        if root is None:
            die(f"{run}/config.toml names no data root: pass the planted list")
        listing = Path(root) / PLANTED_LIST
    listing = Path(listing)
    if not listing.is_file():
        die(f"{listing}: no planted list (made by `plant-outliers.sh plant`)")
    planted = {line.strip() for line in listing.read_text().splitlines() if line.strip()}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for column in ("file", "status", "reason"):
        if rows and column not in rows[0]:
            die(f"{path}: column `{column}` missing (a file written before reasons?)")

    def is_planted(file):
        file = file.replace(os.sep, "/")
        return file in planted or any(file.endswith("/" + p) for p in planted)

    marked = [(is_planted(r["file"]), r) for r in rows]
    in_pool = sum(p for p, _ in marked)
    flagged = [(p, r) for p, r in marked if r["reason"] == "outlier"]
    caught = sum(p for p, _ in flagged)
    accepted = [(p, r) for p, r in marked if r["status"] in ("accepted", "forced")]
    planted_accepted = sum(p for p, _ in accepted)
    clean = len(rows) - in_pool
    print(f"run:              {run}")
    print(f"round:            {round_no} ({path.name}, {len(rows)} pool images)")
    print(f"planted:          {in_pool} in the pool ({len(planted)} listed in {listing})")
    if in_pool < len(planted):
        print(f"warning: {len(planted) - in_pool} listed files are not in the round's CSV")
    print(f"flagged outlier:  {len(flagged)}")
    print(f"precision:        {ratio(caught, len(flagged))} ({caught} of the flagged are planted)")
    print(f"recall:           {ratio(caught, in_pool)} ({caught} of the planted are flagged)")
    print(
        f"accepted planted: {planted_accepted} of {in_pool} planted "
        f"({ratio(planted_accepted, in_pool)}); clean accepted: "
        f"{len(accepted) - planted_accepted} of {clean} ({ratio(len(accepted) - planted_accepted, clean)})"
    )
    if rows and "outlier" in rows[0] and all(r["outlier"] for r in rows):
        scores = [(p, float(r["outlier"])) for p, r in marked]
        area = auroc([s for p, s in scores if p], [s for p, s in scores if not p])
        if area is not None:
            print(f"score AUROC:      {area:.3f} (planted vs clean, by the outlier column)")
    if args.tsv:
        print(
            "\t".join(
                str(v)
                for v in (
                    run.name,
                    round_no,
                    in_pool,
                    len(flagged),
                    caught,
                    ratio(caught, len(flagged)),
                    ratio(caught, in_pool),
                    planted_accepted,
                )
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plant", help="plant IDX images into OUT/unlabeled (OUT: a copy of a root)")
    p.add_argument("out", help="the data root to plant into (a copy: files are replaced or added)")
    p.add_argument("images", help="uncompressed IDX3 image file of the foreign images")
    p.add_argument("--fraction", type=float, default=0.05, help="planted share of the pool")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replace", action="store_true", help="replace pool images instead of adding")
    p.add_argument("--spread", choices=["even", "random"], default="even",
                   help="class folders: round-robin (even) or at random")
    p.add_argument("--tag", help="name part of the planted files (default: the IDX file's folder)")
    r = sub.add_parser("report", help="precision/recall of a run's outlier filter")
    r.add_argument("run", help="the run directory")
    r.add_argument("planted", nargs="?", help="the planted list (default: <data root>/planted.txt)")
    r.add_argument("--tsv", action="store_true", help="also one tab-separated summary line")
    r.add_argument("--round", type=int, help="the round to score (default: the last)")
    args = parser.parse_args()
    {"plant": plant, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
