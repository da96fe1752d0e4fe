"""PyTorch twin of `selftrain train --headless` with today's defaults: the whole self-training loop.

It runs the recipe `selftrain train --headless --data ROOT --seed N` runs with no other flag
(policy `class-balanced`, model `default` CNN, no strong augmentation, no outlier filter), on the
same data root layout, written as the fastest honest eager PyTorch a user would otherwise write,
so that the Rust program's whole-loop wall time and accuracy can be compared with it.

    .venv-libtorch/bin/python bench/twin_selftrain.py --data data/mnist-10pc-u1000 --seed 0 \
        [--threads N] [--device cpu|cuda] [--warmup-epochs 40 --rounds 8 --epochs-per-round 3]

Progress goes to stderr; one JSON object goes to stdout at the end.

The recipe (every number is `TrainConfig::default()` in src/config.rs unless noted)
-----------------------------------------------------------------------------------
Data (src/data/folder.rs, src/train/prepare.rs, src/data/split.rs)
  * ROOT/train/<class>/** labelled; classes = sorted train/ folder names; files in path order.
    ROOT/val/<class>/** when present, else a stratified hold-out of train/: per class
    round(0.2·n) images (at least 1 when n ≥ 2, never all) (val_fraction 0.2).
    ROOT/test/<class>/** optional. ROOT/unlabeled/**: files directly inside have no truth; files
    under unlabeled/<class>/ carry that class as hidden truth (diagnostics only: pseudo-label
    accuracy). Hidden names (leading '.') and run folders are left out.
  * Channels: 3 when any image has colour, else 1; size: the images' own when all agree (sides
    4..=1024), else 32x32 by cover-and-centre-crop with a bilinear filter. Pixels /255, no
    normalisation (normalize = none).
Model (src/model/cnn.rs, src/model/mod.rs: kind `default`, filters 32, hidden 128)
  * conv3x3(C→32, same, no bias)–BN–ReLU–maxpool2 – conv3x3(32→64, same, no bias)–BN–ReLU–maxpool2
    – fc(64·H/4·W/4 → 128)–ReLU – dropout(0.3) – fc(128 → K). BatchNorm momentum 0.1, eps 1e-5
    (burn defaults). Init: burn's KaimingUniform(gain 1/√3) = U(±1/√fan_in) for weights and
    biases, which is PyTorch's default init.
Optimisation (src/train/steps.rs, src/train/engine.rs)
  * Adam lr 1e-3, β (0.9, 0.999), eps 1e-5 (burn's default, not torch's 1e-8), L2 weight decay
    1e-4 added to the gradient (burn WeightDecay = torch Adam weight_decay). One optimizer for the
    whole run (no reset between rounds; reinit_each_round = false).
  * Cosine LR per phase, restarting at the warm-up and at every round:
    lr·½(1+cos(π·p)), p = ((epoch−1) + step/steps_in_epoch) / epochs_in_phase, set every step.
  * Batch 64. Warm-up: 40 epochs, shuffled passes over the labelled set, plain mean CE, no mixup.
  * Rounds (8 at most, 3 epochs each): predict the pool (batch max(64, 256) = 256, eval mode,
    softmax), choose pseudo-labels afresh every round (class-balanced, below), then train on
    labelled ∪ pseudo-labelled. Epoch plan (src/train/batcher.rs plan_epoch): if labelled/(all)
    ≥ 0.25 (min_labeled_share) one shuffled pass over both; else every batch holds
    ceil(64·0.25) = 16 labelled (cycled through reshuffled labelled orders) + 48 pseudo, and the
    epoch is one shuffled pass over the pseudo-labels.
  * Loss: Σ wᵢ·CEᵢ with labelled wᵢ = 1/n_labelled_in_batch (class weights all 1) and pseudo
    wᵢ = λ/n_pseudo_in_batch, λ = 1.0 ramped linearly over 2 rounds (round 1: 0.5, then 1.0;
    pseudo_weight 1.0, pseudo_ramp_rounds 2; warm-up λ = 0).
  * Mixup in rounds only, α 0.4: m = max(b, 1−b), b ~ Beta(0.4, 0.4) once per batch, a random
    pairing; x = m·x + (1−m)·x_partner; loss = m·Σ wᵢ CE(yᵢ) + (1−m)·Σ w_partner CE(y_partner).
  * Augmentation (src/data/augment.rs): every training sample shifted by (dx, dy) uniform in
    −2..=2 with zero fill (augment_shift 2, no flip); pseudo-labelled samples also get cutout of a
    round(0.5·min(H, W)) square (pseudo_cutout 0.5) at a uniform centre, clipped at the border.
Pseudo-labels (src/train/pseudo/class_balanced.rs, src/train/pseudo_round.rs)
  * Candidates: max probability ≥ τ = 0.8. Quota per class c: ceil(prior_c/Σprior · n_candidates
    · 1.5) (balance_slack 1.5), at least 1 when the class has labelled images; within a class
    the most confident win (ties by pool index). prior = labelled (post hold-out) class counts.
  * A round that accepts nothing new (no index accepted now that was not accepted last round)
    ends the run before training (NoNewPseudoLabels).
Evaluation and selection (src/train/engine/evaluation.rs, src/train/selection.rs)
  * Validation accuracy after every epoch (batch 64); model selection only at the end of the
    warm-up and of each round: a model is selected when val_acc + 0.5/n ≥ top − slack, slack =
    max(1/n (selection_tolerance 1), 1.0·√(top(1−top)/n) (selection_standard_errors 1.0)),
    top = best val accuracy seen at a selection point. Ties go to the later model.
  * Test accuracy after the warm-up (the supervised-only figure) and after each round.
  * Patience 3: stop when 3 rounds in a row were not selected.

Where the twin differs from selftrain
-------------------------------------
  1. Random streams. selftrain seeds every draw from (seed, position) with SplitMix64 into
     rand's StdRng (epoch plans per (round, epoch), augmentation/mixup per global step) and
     burn's device RNG (init, dropout). The twin uses torch.manual_seed(seed) for init and
     dropout, one CPU torch.Generator for epoch plans, one torch.Generator on the device for
     shift/cutout/pairing draws, and numpy's default_rng(seed) for the validation split and the
     Beta draws. Same distributions, different draws: results agree in distribution only.
  2. Validation split: the same per-class sizes (round half away from zero, ≥ 1, never all) but
     drawn with numpy, so other members than selftrain's (its ChaCha12 shuffle is not
     reproduced).
  3. Mixed batches take their labelled share from concatenated fresh permutations of the
     labelled set rather than popping a reshuffled vector: the same "reshuffle when exhausted"
     rule, different draws. Cutout centres are drawn for every sample and applied to the pseudo
     ones only (selftrain draws them for pseudo samples only).
  4. BatchNorm running variance: torch updates it with the unbiased batch variance, burn with
     the biased one (a factor n/(n−1), n = batch·H·W per channel ≥ 64·49: negligible).
  5. selftrain reads every step's per-sample losses back to the host (live loss curve and an
     immediate divergence check) and polls its controls between batches; the twin sums the loss
     on the device and reads it once per epoch (progress line, divergence check).
  6. selftrain writes its run folder: config/model files, a resumable checkpoint at every round
     start and at epoch ends at most every 30 s, best.bpk whenever a model is selected, a
     pseudo-label CSV per round, metrics.jsonl and events; the twin writes nothing (it keeps the
     selected weights in memory). That I/O is part of selftrain's wall time, not the twin's.
  7. Evaluations: selftrain computes full reports (confusion matrix, calibration, loss) from
     probabilities on the host; the twin computes accuracy on the device (argmax of logits, the
     same class as argmax of probabilities up to exact ties). For the final figures the twin
     reports the test accuracies it measured after those very rounds (same weights, so the same
     numbers); selftrain at commit ae59ccc evaluated the last and the selected model on test
     once more at the end (two extra test passes), which a later change reuses instead.
  8. Decoding: PIL instead of the image crate, decoded once (selftrain decodes twice when the
     channel count is automatic: a colour probe, then the final pass), in a thread pool of
     --threads workers (selftrain: rayon). Grey PNGs give identical pixels; resizing (only when
     sizes differ) uses PIL's bilinear filter, which may differ from the image crate's Triangle
     filter in rounding; EXIF orientation is applied only when PIL exposes an EXIF block after
     loading; 16-bit grey images are clipped to 8 bits by PIL (the image crate scales them);
     undecodable files are skipped (on_bad_image skip) as in selftrain.
  9. Only the default recipe: no --config, no other policy/model, no hflip, strong augment,
     outlier filter, normalisation, class weighting, cross-validation, manual controls or resume.
     Divergence is checked on the epoch's training loss only (selftrain also checks the
     validation loss).
 10. Options that leave the recipe: --no-epoch-val validates only at selection points (the
     results are unchanged, the per-epoch validation work is skipped); --channels-last runs NHWC
     (numerically the same model); --threshold/--batch-size/--lr and the epoch/round counts
     override those defaults. Evaluation batch sizes are selftrain's (64 for validation/test,
     256 for the pool); the default device is the CPU with torch.set_num_threads(--threads).
"""

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn

# TrainConfig::default() (src/config.rs) and the model defaults (src/model/mod.rs).
DEFAULTS = dict(
    threshold=0.8,
    pseudo_weight=1.0,
    balance_slack=1.5,
    pseudo_ramp_rounds=2,
    min_labeled_share=0.25,
    learning_rate=1e-3,
    weight_decay=1e-4,
    adam_betas=(0.9, 0.999),
    adam_eps=1e-5,  # burn AdamConfig default
    batch_size=64,
    warmup_epochs=40,
    epochs_per_round=3,
    rounds=8,
    patience=3,
    selection_tolerance=1,
    selection_standard_errors=1.0,
    augment_shift=2,
    pseudo_cutout=0.5,
    mixup=0.4,
    val_fraction=0.2,
    dropout=0.3,
    filters=32,
    hidden=128,
    pool_batch=256,  # inference_batch_size(64) = max(64, 256)
    eval_batch=64,  # batch_size.max(64)
)

RUN_MARKERS = ("metrics.jsonl", "resume.json", "summary.json")
AUTO_SIDES = range(4, 1025)
DEFAULT_SIZE = (32, 32)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def round_half_away(x):
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


# ----------------------------------------------------------------------------------------------
# Data root (src/data/folder.rs, src/data/folder/scan.rs)
# ----------------------------------------------------------------------------------------------

def is_run_dir(d):
    return any(os.path.isfile(os.path.join(d, m)) for m in RUN_MARKERS)


def sorted_entries(d):
    """Non-hidden entries of a folder, sorted by name, as (path, is_dir)."""
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("."):
            continue
        p = os.path.join(d, name)
        out.append((p, os.path.isdir(p)))
    return out


def walk_files(d, depth=1, max_depth=32):
    if is_run_dir(d):
        return []
    files = []
    for p, is_dir in sorted_entries(d):
        if not is_dir:
            files.append(p)
        elif depth < max_depth:
            files.extend(walk_files(p, depth + 1, max_depth))
    return files


def list_classes(split_dir):
    """{class name: files} of a labelled split folder (stray files and run folders left out)."""
    classes = {}
    for p, is_dir in sorted_entries(split_dir):
        if not is_dir:
            continue
        holds_runs = any(os.path.isdir(os.path.join(p, e)) and is_run_dir(os.path.join(p, e))
                         for e in os.listdir(p))
        if is_run_dir(p) or holds_runs:
            continue
        classes[os.path.basename(p)] = walk_files(p)
    return dict(sorted(classes.items()))


def list_root(root):
    """Entries (path, split, label) in selftrain's order, and the class names."""
    train_dir = os.path.join(root, "train")
    if not os.path.isdir(train_dir):
        sys.exit(f"error: {train_dir} is missing")
    train = list_classes(train_dir)
    classes = list(train)
    if len(classes) < 2:
        sys.exit(f"error: {train_dir} needs at least two class folders")
    index = {c: i for i, c in enumerate(classes)}
    entries = [(p, "train", index[c]) for c in classes for p in train[c]]
    for split in ("val", "test"):
        d = os.path.join(root, split)
        if os.path.isdir(d):
            for c, files in list_classes(d).items():
                if c not in index:
                    sys.exit(f"error: {d}/{c}: class not in train/")
                entries.extend((p, split, index[c]) for p in files)
    d = os.path.join(root, "unlabeled")
    if os.path.isdir(d):
        for p, is_dir in sorted_entries(d):
            if is_dir:
                truth = index.get(os.path.basename(p))
                entries.extend((f, "unlabeled", truth) for f in walk_files(p))
            else:
                entries.append((p, "unlabeled", None))
    return entries, classes


def decode(path):
    """(array HxW or HxWx3 uint8, has colour) or None when the file is not a decodable image."""
    try:
        with Image.open(path) as im:
            im.load()
            if "exif" in im.info:
                im = ImageOps.exif_transpose(im)
            if im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
                return np.asarray(im.convert("L")), False
            rgb = np.asarray(im.convert("RGB"))
            colour = bool((rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any())
            return (rgb if colour else np.ascontiguousarray(rgb[..., 0])), colour
    except Exception:  # noqa: BLE001 - skip any undecodable file, as on_bad_image = skip
        return None


def fit(arr, h, w):
    """Cover-and-centre-crop resize (ResizePolicy::Crop) with a bilinear filter."""
    ih, iw = arr.shape[:2]
    if (ih, iw) == (h, w):
        return arr
    scale = max(w / iw, h / ih)
    sw = max(round_half_away(iw * scale), w)
    sh = max(round_half_away(ih * scale), h)
    im = Image.fromarray(arr).resize((sw, sh), Image.BILINEAR)
    x0, y0 = (sw - w) // 2, (sh - h) // 2
    return np.asarray(im.crop((x0, y0, x0 + w, y0 + h)))


def load_root(root, threads):
    entries, classes = list_root(root)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        decoded = list(pool.map(decode, (e[0] for e in entries), chunksize=256))
    kept = [(e, d) for e, d in zip(entries, decoded) if d is not None]
    skipped = len(entries) - len(kept)
    sizes = {d[0].shape[:2] for _, d in kept}
    if len(sizes) == 1:
        (h, w), = sizes
        if h not in AUTO_SIDES or w not in AUTO_SIDES:
            h, w = DEFAULT_SIZE
    else:
        h, w = DEFAULT_SIZE
    channels = 3 if any(d[1] for _, d in kept) else 1
    sets = {}
    for split in ("train", "val", "test", "unlabeled"):
        arrs, labels = [], []
        for (path, s, label), (arr, _) in ((e, d) for e, d in kept if e[1] == split):
            if channels == 3 and arr.ndim == 2:
                arr = np.repeat(arr[..., None], 3, axis=2)
            arr = fit(arr, h, w)
            arrs.append(arr.transpose(2, 0, 1) if channels == 3 else arr[None])
            labels.append(-1 if label is None else label)
        x = (torch.from_numpy(np.stack(arrs)) if arrs
             else torch.empty((0, channels, h, w), dtype=torch.uint8))
        sets[split] = (x.contiguous(), torch.tensor(labels, dtype=torch.int64))
    counts = np.bincount(sets["train"][1].numpy(), minlength=len(classes))
    if (counts == 0).any():
        sys.exit("error: a train/ class has no decodable image")
    return sets, classes, (channels, h, w), skipped


def stratified_holdout(labels, k, fraction, rng):
    """(keep, hold) index arrays, ascending; the per-class sizes of src/data/split.rs."""
    keep, hold = [], []
    for c in range(k):
        group = np.flatnonzero(labels == c)
        n = len(group)
        held = max(round_half_away(fraction * n), 1) if fraction > 0 and n >= 2 else 0
        held = min(held, max(n - 1, 0))
        group = rng.permutation(group)
        hold.extend(group[:held])
        keep.extend(group[held:])
    return np.sort(np.array(keep, dtype=np.int64)), np.sort(np.array(hold, dtype=np.int64))


# ----------------------------------------------------------------------------------------------
# Model (src/model/cnn.rs, kind `default`)
# ----------------------------------------------------------------------------------------------

# The same network as the per-step benchmark (bench/pytorch_bench.py, kind "default"):
# conv(32)-bn-relu-pool-conv(64)-bn-relu-pool-fc(128)-relu-dropout-fc, 3x3 'same' convs, BatchNorm
# eps 1e-5 and momentum 0.1 (torch's defaults, which are burn's).
from pytorch_bench import Cnn  # noqa: E402  (bench/ is the script's own directory)


# ----------------------------------------------------------------------------------------------
# Recipe pieces
# ----------------------------------------------------------------------------------------------

def cosine_rate(lr, progress):
    return 0.5 * lr * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def ramped_weight(lam, rnd, ramp):
    return lam if ramp == 0 or rnd >= ramp else lam * rnd / ramp


def selects(acc, top, tolerance, standard_errors, n):
    if top < 0:
        return True
    n = max(n, 1)
    se = math.sqrt(max(top * (1 - top) / n, 0.0))
    slack = max(tolerance / n, standard_errors * se)
    return acc + 0.5 / n >= top - slack


def plan_epoch(n_lab, n_pseudo, batch, min_share, gen):
    """Source indices (0..n_lab labelled, n_lab.. pseudo) of one epoch and its batch sizes."""
    total = n_lab + n_pseudo
    natural = np.float32(n_lab) / np.float32(max(total, 1))
    if n_pseudo == 0 or n_lab == 0 or natural >= np.float32(min_share):
        order = torch.randperm(total, generator=gen)
        sizes = [batch] * (total // batch) + ([total % batch] if total % batch else [])
        return order, sizes
    lab_slots = min(max(math.ceil(np.float32(batch) * np.float32(min_share)), 1), batch)
    ps_slots = batch - lab_slots
    if ps_slots == 0:
        n_batches, chunks = -(-n_lab // batch), None
    else:
        n_batches = -(-n_pseudo // ps_slots)
        chunks = (n_lab + torch.randperm(n_pseudo, generator=gen)).split(ps_slots)
    need = lab_slots * n_batches
    labelled = torch.cat([torch.randperm(n_lab, generator=gen)
                          for _ in range(-(-need // n_lab))])[:need].view(n_batches, lab_slots)
    parts, sizes = [], []
    for b in range(n_batches):
        parts.append(labelled[b])
        if chunks is not None:
            parts.append(chunks[b])
        sizes.append(lab_slots + (len(chunks[b]) if chunks is not None else 0))
    return torch.cat(parts), sizes


def sample_weights(is_pseudo, sizes, lam):
    """Per-sample loss weights: 1/n_labelled for labelled, λ/n_pseudo for pseudo (per batch)."""
    bid = np.repeat(np.arange(len(sizes)), sizes)
    p = is_pseudo.astype(np.float64)
    n_ps = np.bincount(bid, weights=p, minlength=len(sizes))
    n_lab = np.bincount(bid, weights=1 - p, minlength=len(sizes))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(is_pseudo, lam / n_ps[bid], 1.0 / n_lab[bid])
    return torch.from_numpy(np.nan_to_num(w, posinf=0.0).astype(np.float32))


class Augmenter:
    """Shift (all samples) and cutout (pseudo-labelled samples) on uint8 NCHW batches."""

    def __init__(self, shape, shift, cutout, device, gen):
        _, self.h, self.w = shape
        self.s, self.cut, self.gen, self.device = shift, cutout, gen, device
        self.ar_h = torch.arange(self.h, device=device)
        self.ar_w = torch.arange(self.w, device=device)

    def __call__(self, x, pseudo):
        n, c, h, w = x.shape
        s = self.s
        if s > 0:
            d = torch.randint(-s, s + 1, (n, 2), generator=self.gen, device=self.device)
            padded = F.pad(x, (s, s, s, s))  # zeros come in from outside
            rows = (self.ar_h + s)[None, :] - d[:, 1:2]  # dst[y] = src[y - dy]
            cols = (self.ar_w + s)[None, :] - d[:, 0:1]  # dst[x] = src[x - dx]
            x = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * s))
            x = x.gather(3, cols[:, None, None, :].expand(n, c, h, w))
        if self.cut > 0 and pseudo is not None:
            cy = torch.randint(0, h, (n,), generator=self.gen, device=self.device)
            cx = torch.randint(0, w, (n,), generator=self.gen, device=self.device)
            half = self.cut // 2
            y0, y1 = (cy - half).clamp(min=0), (cy + self.cut - half).clamp(max=h)
            x0, x1 = (cx - half).clamp(min=0), (cx + self.cut - half).clamp(max=w)
            my = (self.ar_h[None] >= y0[:, None]) & (self.ar_h[None] < y1[:, None])
            mx = (self.ar_w[None] >= x0[:, None]) & (self.ar_w[None] < x1[:, None])
            mask = my[:, :, None] & mx[:, None, :] & pseudo[:, None, None]
            x = x.masked_fill(mask[:, None], 0)
        return x


@torch.inference_mode()
def logits_of(model, x_u8, batch):
    model.eval()
    out = [model(x_u8[s:s + batch].float().mul_(1.0 / 255.0)) for s in range(0, len(x_u8), batch)]
    return torch.cat(out) if out else torch.empty(0)


def accuracy(model, x_u8, y, batch):
    if len(x_u8) == 0:
        return None
    with torch.inference_mode():
        correct = (logits_of(model, x_u8, batch).argmax(1) == y).sum()
    return correct.item() / len(x_u8)  # one read-back per evaluation


def class_balanced(conf, pred, threshold, prior, slack, k):
    """Accepted mask of the pool (src/train/pseudo/class_balanced.rs)."""
    cand = np.flatnonzero(conf >= np.float32(threshold))
    total, psum = len(cand), int(prior.sum())
    quotas = []
    for c in range(k):
        p = int(prior[c])
        if psum == 0:
            quotas.append(total)
            continue
        q = math.ceil(p / psum * total * float(np.float32(slack)))
        quotas.append(max(q, 1) if p > 0 and total > 0 else q)
    # Most confident first within a class, ties by pool index (stable sorts).
    order = cand[np.argsort(-conf[cand], kind="stable")]
    order = order[np.argsort(pred[order], kind="stable")]
    cls = pred[order]
    first = np.searchsorted(cls, cls, side="left")
    rank = np.arange(len(order)) - first
    accepted = np.zeros(len(conf), dtype=bool)
    accepted[order[rank < np.array(quotas, dtype=np.int64)[cls]]] = True
    return accepted


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="sample-data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--warmup-epochs", type=int, default=DEFAULTS["warmup_epochs"])
    ap.add_argument("--rounds", type=int, default=DEFAULTS["rounds"])
    ap.add_argument("--epochs-per-round", type=int, default=DEFAULTS["epochs_per_round"])
    ap.add_argument("--threshold", type=float, default=DEFAULTS["threshold"])
    ap.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    ap.add_argument("--lr", type=float, default=DEFAULTS["learning_rate"])
    ap.add_argument("--no-epoch-val", action="store_true",
                    help="validate only at selection points (selftrain validates every epoch)")
    ap.add_argument("--channels-last", action="store_true", help="NHWC activations")
    a = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(max(1, a.threads))
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch sees no CUDA device")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    D = DEFAULTS
    bs = a.batch_size

    # --- data --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    sets, classes, shape, skipped = load_root(a.data, a.threads)
    decode_s = time.perf_counter() - t0
    # Time to accuracy is counted from here, as selftrain's `elapsed_secs` counts from the
    # start of its trainer, after the data is loaded.
    t_train0 = time.perf_counter()
    k = len(classes)
    np_rng = np.random.default_rng(a.seed)
    train_x, train_y = sets["train"]
    if len(sets["val"][0]) > 0:
        val_x, val_y = sets["val"]
    else:
        keep, hold = stratified_holdout(train_y.numpy(), k, D["val_fraction"], np_rng)
        val_x, val_y = train_x[hold], train_y[hold]
        train_x, train_y = train_x[keep], train_y[keep]
    test_x, test_y = sets["test"]
    pool_x, pool_truth = sets["unlabeled"]
    prior = np.bincount(train_y.numpy(), minlength=k)
    truth_np = pool_truth.numpy()
    log(f"data {a.data}: {k} classes, shape {shape}, {len(train_x)} labelled, {len(val_x)} "
        f"validation, {len(test_x)} test, {len(pool_x)} unlabelled ({skipped} skipped); "
        f"decoded in {decode_s:.2f} s")

    train_x, train_y = train_x.to(device), train_y.to(device)
    val_x, val_y = val_x.to(device), val_y.to(device)
    test_x, test_y = test_x.to(device), test_y.to(device)
    pool_x = pool_x.to(device)

    # --- model and optimizer -----------------------------------------------------------------
    torch.manual_seed(a.seed)
    c, h, w = shape
    model = Cnn("default", c, h, w, k, D["filters"], D["hidden"], D["dropout"]).to(device)
    mem_format = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=mem_format)
    opt_kw = dict(lr=a.lr, betas=D["adam_betas"], eps=D["adam_eps"],
                  weight_decay=D["weight_decay"])
    try:
        opt = torch.optim.Adam(model.parameters(), fused=True, **opt_kw)
        opt_impl = "fused"
    except (RuntimeError, ValueError):
        opt = torch.optim.Adam(model.parameters(), foreach=True, **opt_kw)
        opt_impl = "foreach"
    plan_gen = torch.Generator().manual_seed(a.seed)
    aug_gen = torch.Generator(device=device).manual_seed(a.seed + 1)
    augment = Augmenter(shape, D["augment_shift"], round_half_away(D["pseudo_cutout"] * min(h, w)),
                        device, aug_gen)

    phases = dict(warmup_training=0.0, round_training=0.0, pool_prediction=0.0,
                  pseudo_decision=0.0, evaluation=0.0)
    state = dict(global_step=0, top=-1.0, best_val=-1.0, best_round=0, has_best=False,
                 best_state=None, last_val=0.0, no_improve=0)

    def evaluate(x, y):
        t = time.perf_counter()
        acc = accuracy(model, x, y, D["eval_batch"])
        phases["evaluation"] += time.perf_counter() - t
        return acc

    def observe_selection(rnd):
        acc = state["last_val"]
        if len(val_x) == 0:
            return False
        better = selects(acc, state["top"], D["selection_tolerance"],
                         D["selection_standard_errors"], len(val_x))
        state["top"] = max(state["top"], acc)
        if better:
            state.update(best_val=acc, best_round=rnd, has_best=True,
                         best_state={n: t.detach().clone() for n, t in model.state_dict().items()})
        return better

    def train_phase(rnd, src_x, src_y, n_lab, epochs, lam):
        """Epochs of one phase; src_* hold the labelled images first, then the pseudo ones."""
        n_pseudo = len(src_x) - n_lab
        phase_key = "warmup_training" if rnd == 0 else "round_training"
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            order, sizes = plan_epoch(n_lab, n_pseudo, bs, D["min_labeled_share"], plan_gen)
            is_ps = (order >= n_lab).numpy()
            weights = sample_weights(is_ps, sizes, lam).to(device, non_blocking=True)
            order_d = order.to(device, non_blocking=True)
            ps_d = torch.from_numpy(is_ps).to(device, non_blocking=True)
            model.train()
            loss_sum = torch.zeros((), device=device)
            start = 0
            steps = len(sizes)
            for step, size in enumerate(sizes):
                sel = order_d[start:start + size]
                wb = weights[start:start + size]
                pb = ps_d[start:start + size] if n_pseudo else None
                start += size
                xb = augment(src_x.index_select(0, sel), pb)
                yb = src_y.index_select(0, sel)
                x = xb.float().mul_(1.0 / 255.0).contiguous(memory_format=mem_format)
                mix = None
                if rnd > 0 and D["mixup"] > 0 and size >= 2:
                    b = float(np_rng.beta(D["mixup"], D["mixup"]))
                    m = max(b, 1.0 - b)
                    perm = torch.randperm(size, generator=aug_gen, device=device)
                    partner = x[perm]
                    x = x.mul_(m).add_(partner, alpha=1.0 - m)
                    mix = (m, perm)
                progress = ((epoch - 1) + step / max(steps, 1)) / max(epochs, 1)
                for g in opt.param_groups:
                    g["lr"] = cosine_rate(a.lr, progress)
                logits = model(x)
                if mix is None:
                    loss = (F.cross_entropy(logits, yb, reduction="none") * wb).sum()
                else:
                    m, perm = mix
                    own = (F.cross_entropy(logits, yb, reduction="none") * wb).sum()
                    other = (F.cross_entropy(logits, yb[perm], reduction="none") * wb[perm]).sum()
                    loss = own * m + other * (1.0 - m)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.detach()
                state["global_step"] += 1
            sync()
            phases[phase_key] += time.perf_counter() - t
            mean_loss = loss_sum.item() / max(steps, 1)  # one read-back per epoch
            if not math.isfinite(mean_loss):
                sys.exit(f"error: training diverged: mean loss {mean_loss} in round {rnd}, "
                         f"epoch {epoch}")
            last = epoch == epochs
            validated = len(val_x) > 0 and (last or not a.no_epoch_val)
            if validated:
                state["last_val"] = evaluate(val_x, val_y)
            selected = observe_selection(rnd) if last else False
            where = "warm-up" if rnd == 0 else f"round {rnd}"
            val = f"{state['last_val'] * 100:.2f}%" if validated else "-"
            log(f"{where} epoch {epoch}/{epochs}: loss {mean_loss:.4f}, val {val}, "
                f"{steps} steps in {time.perf_counter() - t:.2f} s"
                + (" [selected]" if selected else ""))

    # --- warm-up -----------------------------------------------------------------------------
    train_phase(0, train_x, train_y, len(train_x), a.warmup_epochs, 0.0)
    supervised_acc = evaluate(test_x, test_y)
    log(f"warm-up done: test {supervised_acc}")
    last_acc = supervised_acc
    test_by_round = {0: supervised_acc}
    test_curve = [dict(round=0, elapsed_s=time.perf_counter() - t_train0, test_acc=supervised_acc)]

    # --- rounds ------------------------------------------------------------------------------
    rounds_out = []
    previously = np.zeros(len(pool_x), dtype=bool)
    stop = "max_rounds"
    for rnd in range(1, a.rounds + 1):
        if len(pool_x) == 0:
            stop = "empty_pool"
            break
        t = time.perf_counter()
        with torch.inference_mode():
            probs = torch.softmax(logits_of(model, pool_x, D["pool_batch"]), 1)
            conf, pred = probs.max(1)
            conf, pred = conf.cpu().numpy(), pred.cpu().numpy()  # the round's one read-back
        phases["pool_prediction"] += time.perf_counter() - t
        t = time.perf_counter()
        accepted = class_balanced(conf, pred, a.threshold, prior, D["balance_slack"], k)
        newly = int((accepted & ~previously).sum())
        dropped = int((~accepted & previously).sum())
        previously = accepted
        idx = np.flatnonzero(accepted)
        known = idx[truth_np[idx] >= 0]
        pseudo_acc = float((pred[known] == truth_np[known]).mean()) if len(known) else None
        per_class = np.bincount(pred[idx], minlength=k).tolist()
        phases["pseudo_decision"] += time.perf_counter() - t
        lam = ramped_weight(D["pseudo_weight"], rnd, D["pseudo_ramp_rounds"])
        log(f"round {rnd}: {len(idx)} pseudo-labels (+{newly} −{dropped}), accuracy "
            f"{'-' if pseudo_acc is None else f'{pseudo_acc * 100:.2f}%'}, λ {lam}")
        record = dict(round=rnd, accepted=len(idx), newly_accepted=newly, dropped=dropped,
                      accepted_per_class=per_class, pseudo_label_acc=pseudo_acc, pseudo_weight=lam)
        if newly == 0:
            stop = "no_new_pseudo_labels"
            rounds_out.append(record)
            break
        idx_d = torch.from_numpy(idx).to(device)
        src_x = torch.cat([train_x, pool_x.index_select(0, idx_d)])
        src_y = torch.cat([train_y, torch.from_numpy(pred[idx]).to(device)])
        train_phase(rnd, src_x, src_y, len(train_x), a.epochs_per_round, lam)
        last_acc = evaluate(test_x, test_y)
        test_by_round[rnd] = last_acc
        test_curve.append(dict(round=rnd, elapsed_s=time.perf_counter() - t_train0,
                               test_acc=last_acc))
        improved = state["has_best"] and state["best_round"] == rnd
        state["no_improve"] = 0 if improved else state["no_improve"] + 1
        record.update(val_acc=state["last_val"] if len(val_x) else None, test_acc=last_acc,
                      selected=improved)
        rounds_out.append(record)
        log(f"round {rnd} done: val {record['val_acc']}, test {last_acc}, selected {improved}")
        if D["patience"] > 0 and state["no_improve"] >= D["patience"]:
            stop = "patience"
            break

    # Without validation selftrain keeps the last model as the selected one.
    best_round = state["best_round"] if state["has_best"] else max(test_by_round)
    best_acc = test_by_round.get(best_round, last_acc)
    wall_s = time.perf_counter() - t_start
    out = dict(
        tool="pytorch-twin",
        torch_version=torch.__version__,
        device=a.device,
        threads=torch.get_num_threads(),
        optimizer=f"adam-{opt_impl}",
        channels_last=a.channels_last,
        seed=a.seed,
        data=a.data,
        classes=classes,
        shape=list(shape),
        labelled=len(train_x),
        validation=len(val_x),
        test=len(test_x),
        unlabelled=len(pool_x),
        skipped_images=skipped,
        recipe=dict(warmup_epochs=a.warmup_epochs, rounds=a.rounds,
                    epochs_per_round=a.epochs_per_round, threshold=a.threshold,
                    batch_size=bs, learning_rate=a.lr, epoch_validation=not a.no_epoch_val,
                    **{kk: D[kk] for kk in ("pseudo_weight", "balance_slack", "pseudo_ramp_rounds",
                                            "min_labeled_share", "weight_decay", "adam_eps",
                                            "patience", "selection_tolerance",
                                            "selection_standard_errors", "augment_shift",
                                            "pseudo_cutout", "mixup", "val_fraction",
                                            "dropout")}),
        supervised_only_acc=supervised_acc,
        best_acc=best_acc,
        best_round=best_round,
        best_val_acc=state["best_val"] if state["has_best"] else None,
        last_acc=last_acc,
        stop_reason=stop,
        rounds_completed=sum(1 for r in rounds_out if "test_acc" in r),
        global_steps=state["global_step"],
        rounds=rounds_out,
        test_curve=test_curve,
        wall_s=wall_s,
        decode_s=decode_s,
        phases=phases,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
