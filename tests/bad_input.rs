//! No input may crash the program: bad images, bad folders, bad IDX files, bad configuration
//! values and bad flags each give an error naming the file or field and what is wrong (or, for
//! bad images under the default `--on-bad-image skip`, a warning, a count in `summary.json` and a
//! list in `skipped_images.csv`) — never a panic, never a hang.
//!
//! Training runs use a tiny generated dataset (3 classes × 4 labelled 8×8 images, 2 unlabelled
//! and 2 test images per class) and a two-epoch budget, so each takes well under a second.

mod common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use image::{GrayImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage};
use selftrain::config::TrainConfig;
use selftrain::data::idx::{parse_idx_images, parse_idx_labels};
use selftrain::data::{
    BadImagePolicy, DatasetOptions, ImageShape, ResizePolicy, decode_image_file, load_dataset,
};

const CLASSES: [&str; 3] = ["a", "b", "c"];

/// Creates the parent folders of `path` and returns it.
fn at(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    path
}

/// An 8-bit grey PNG with a deterministic pattern.
fn grey_png(root: &Path, rel: &str, w: u32, h: u32, seed: u32) {
    GrayImage::from_fn(w, h, |x, y| {
        Luma([((x * 37 + y * 11 + seed * 53) % 256) as u8])
    })
    .save(at(root, rel))
    .unwrap();
}

/// The bytes of a valid 8×8 grey PNG.
fn png_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    GrayImage::from_fn(8, 8, |x, y| Luma([(x * 30 + y) as u8]))
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

/// A valid 1×1 PNG whose header is patched (CRC fixed up) to claim `side`×`side` pixels.
fn bomb_png_bytes(side: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    GrayImage::from_pixel(1, 1, Luma([0]))
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes[16..20].copy_from_slice(&side.to_be_bytes());
    bytes[20..24].copy_from_slice(&side.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The tiny dataset: train/{a,b,c}/ 4 images each, unlabeled/{a,b,c}/ 2 each, test/{a,b,c}/ 2
/// each, all 8×8 grey.
fn tiny_dataset(name: &str) -> PathBuf {
    let root = temp_dir(name).join("data");
    for (c, class) in CLASSES.iter().enumerate() {
        let c = c as u32;
        for i in 0..4 {
            grey_png(&root, &format!("train/{class}/{i}.png"), 8, 8, c * 10 + i);
        }
        for i in 0..2 {
            grey_png(
                &root,
                &format!("unlabeled/{class}/{i}.png"),
                8,
                8,
                c * 10 + i + 4,
            );
            grey_png(
                &root,
                &format!("test/{class}/{i}.png"),
                8,
                8,
                c * 10 + i + 6,
            );
        }
    }
    root
}

/// Where the runs of a test go (next to its data).
fn runs_of(data: &Path) -> PathBuf {
    data.parent().unwrap().join("runs")
}

/// Runs the binary, killing it (and failing) if it takes longer than `limit`.
fn run_limited(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
            panic!("still running after {limit:?} (a hang): {cmd:?}\n--- stderr\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `selftrain train` headless on `data` with a tiny budget, plus `extra` flags. Earlier runs on
/// the same data are removed first (a run that fails on its data leaves an empty run directory).
fn train(data: &Path, extra: &[&str]) -> Output {
    let _ = std::fs::remove_dir_all(runs_of(data));
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--data"])
        .arg(data)
        .arg("--runs-dir")
        .arg(runs_of(data))
        .args([
            "--warmup-epochs",
            "2",
            "--epochs-per-round",
            "1",
            "--rounds",
            "1",
            "--seed",
            "0",
        ])
        .args(extra);
    let out = run_limited(cmd, Duration::from_secs(120));
    assert_no_panic(&out);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout and stderr together (headless runs print warnings with their progress lines).
fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_panic(out: &Output) {
    let all = all_output(out);
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "{}",
        describe(out)
    );
    // 101 is the exit code of a panic on the main thread.
    assert_ne!(out.status.code(), Some(101), "{}", describe(out));
}

/// Asserts a clean failure (exit code 1 or clap's 2) whose stderr holds every one of `needles`.
fn assert_error(out: &Output, needles: &[&str]) {
    assert_no_panic(out);
    assert!(
        matches!(out.status.code(), Some(1) | Some(2)),
        "expected an error exit: {}",
        describe(out)
    );
    let err = stderr(out);
    assert!(err.contains("error"), "{}", describe(out));
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {}", describe(out));
    }
}

/// Asserts success and returns the run directory.
fn assert_trained(out: &Output, data: &Path) -> PathBuf {
    assert!(out.status.success(), "{}", describe(out));
    let run = only_run_dir(&runs_of(data));
    assert!(run.join("summary.json").is_file(), "{}", describe(out));
    run
}

/// `file -> reason` of a run's skipped_images.csv (reasons may hold quoted commas).
fn skipped_list(run: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(run.join("skipped_images.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("file,reason"));
    lines
        .map(|l| {
            let (file, reason) = l.split_once(',').unwrap();
            (file.to_string(), reason.to_string())
        })
        .collect()
}

/// The `started` record of a run's metrics.jsonl.
fn started(run: &Path) -> serde_json::Value {
    read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .find(|m| m["type"] == "started")
        .expect("a started record")
}

fn cleanup(data: &Path) {
    let _ = std::fs::remove_dir_all(data.parent().unwrap());
}

// ---------------------------------------------------------------- bad image files

#[test]
fn bad_images_are_skipped_with_a_warning_a_count_and_a_list() {
    let data = tiny_dataset("skip");
    let good = png_bytes();
    std::fs::write(at(&data, "train/a/truncated.png"), &good[..good.len() / 2]).unwrap();
    std::fs::write(at(&data, "train/b/corrupt.png"), noise(300, 1)).unwrap();
    std::fs::write(at(&data, "train/c/notes.png"), b"not an image, just text\n").unwrap();
    std::fs::write(
        at(&data, "train/c/readme.txt"),
        b"plain text in a class folder\n",
    )
    .unwrap();
    std::fs::write(at(&data, "train/a/empty.png"), b"").unwrap();
    std::fs::write(at(&data, "unlabeled/b/zero.png"), b"").unwrap();
    std::fs::write(at(&data, "unlabeled/bomb.png"), bomb_png_bytes(100_000)).unwrap();
    std::fs::write(at(&data, "test/a/corrupt.jpg"), noise(100, 2)).unwrap();

    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    let err = all_output(&out);
    assert!(
        err.contains("warning: 8 unreadable image(s) skipped")
            && err.contains("skipped_images.csv"),
        "{}",
        describe(&out)
    );
    let summary = read_json(&run.join("summary.json"));
    assert_eq!(summary["skipped_images"], 8, "{summary}");
    let skipped = skipped_list(&run);
    let files: Vec<&str> = skipped.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "test/a/corrupt.jpg",
            "train/a/empty.png",
            "train/a/truncated.png",
            "train/b/corrupt.png",
            "train/c/notes.png",
            "train/c/readme.txt",
            "unlabeled/b/zero.png",
            "unlabeled/bomb.png",
        ]
    );
    for (file, reason) in &skipped {
        assert!(!reason.trim().is_empty(), "{file} has no reason");
    }
    let reason = |f: &str| &skipped.iter().find(|(file, _)| file == f).unwrap().1;
    assert!(reason("train/a/empty.png").contains("empty"));
    assert!(reason("unlabeled/b/zero.png").contains("empty"));
    assert!(reason("train/c/readme.txt").contains("not a recognised image format"));
    // The decompression bomb is refused by the decoder limits, before any allocation.
    assert!(
        reason("unlabeled/bomb.png")
            .to_lowercase()
            .contains("limit"),
        "{skipped:?}"
    );
    // The good images all made it.
    let s = started(&run);
    assert_eq!(
        s["labeled"].as_u64().unwrap() + s["validation"].as_u64().unwrap(),
        12
    );
    assert_eq!(s["unlabeled"], 6);
    assert_eq!(s["test"], 6);
    cleanup(&data);
}

#[test]
fn on_bad_image_fail_names_the_file() {
    let data = tiny_dataset("fail");
    std::fs::write(at(&data, "train/b/corrupt.png"), noise(300, 3)).unwrap();
    let out = train(&data, &["--on-bad-image", "fail"]);
    assert_error(&out, &["cannot decode image", "train/b/corrupt.png"]);
    // With an explicit shape loading takes its single-pass path: same error.
    let out = train(
        &data,
        &[
            "--on-bad-image",
            "fail",
            "--channels",
            "1",
            "--image-size",
            "8x8",
        ],
    );
    assert_error(&out, &["cannot decode image", "train/b/corrupt.png"]);
    // And the default policy skips it.
    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    assert_eq!(read_json(&run.join("summary.json"))["skipped_images"], 1);
    cleanup(&data);
}

#[test]
fn a_class_whose_every_file_is_bad_is_an_error() {
    let data = tiny_dataset("allbad");
    for i in 0..4 {
        std::fs::write(at(&data, &format!("train/c/{i}.png")), noise(50, i)).unwrap();
    }
    let out = train(&data, &[]);
    assert_error(
        &out,
        &["no image in class folder", "train/c", "could be decoded"],
    );
    cleanup(&data);
}

#[test]
fn grey_rgb_rgba_16_bit_and_mixed_sizes_train_fine() {
    let data = tiny_dataset("formats");
    RgbImage::from_fn(8, 8, |x, y| Rgb([x as u8 * 30, y as u8 * 30, 90]))
        .save(at(&data, "train/a/rgb.png"))
        .unwrap();
    RgbaImage::from_fn(10, 6, |x, y| Rgba([x as u8 * 20, 50, y as u8 * 40, 128]))
        .save(at(&data, "train/b/rgba.png"))
        .unwrap();
    ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(12, 12, |x, y| Luma([(x * 5000 + y) as u16]))
        .save(at(&data, "train/c/grey16.png"))
        .unwrap();
    ImageBuffer::<Rgb<u16>, Vec<u16>>::from_fn(8, 16, |x, y| {
        Rgb([(x * 4000) as u16, (y * 4000) as u16, 65535])
    })
    .save(at(&data, "unlabeled/rgb16.png"))
    .unwrap();
    ImageBuffer::<LumaA<u8>, Vec<u8>>::from_fn(5, 9, |x, _| LumaA([x as u8 * 40, 200]))
        .save(at(&data, "test/a/grey-alpha.png"))
        .unwrap();
    grey_png(&data, "train/a/big.bmp", 40, 30, 7);
    grey_png(&data, "unlabeled/c/tiny.png", 3, 2, 8);

    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    assert!(
        !run.join("skipped_images.csv").exists(),
        "{}",
        describe(&out)
    );
    assert_eq!(read_json(&run.join("summary.json"))["skipped_images"], 0);
    // Colour somewhere and sizes that disagree: 3 channels at the default 32×32.
    let model = read_json(&run.join("model.json"));
    assert_eq!(model["shape"]["channels"], 3, "{model}");
    assert_eq!(model["shape"]["height"], 32, "{model}");
    assert_eq!(model["shape"]["width"], 32, "{model}");
    let s = started(&run);
    assert_eq!(s["unlabeled"], 8);
    assert_eq!(s["test"], 7);
    cleanup(&data);
}

#[test]
fn images_too_small_for_the_model_are_resized_not_a_crash() {
    // All images agree on a size the network cannot take (pooling twice needs 4×4): the
    // automatic size falls back to 32×32 instead of building a model that panics.
    for (tag, w, h) in [("1x1", 1, 1), ("2x3", 3, 2), ("1x2000", 2000, 1)] {
        let root = temp_dir(&format!("small-{tag}")).join("data");
        for (c, class) in CLASSES.iter().enumerate() {
            for i in 0..3 {
                grey_png(
                    &root,
                    &format!("train/{class}/{i}.png"),
                    w,
                    h,
                    c as u32 * 7 + i,
                );
            }
            grey_png(
                &root,
                &format!("unlabeled/{i}-{class}.png", i = c),
                w,
                h,
                c as u32,
            );
        }
        let out = train(&root, &[]);
        let run = assert_trained(&out, &root);
        let model = read_json(&run.join("model.json"));
        assert_eq!(model["shape"]["height"], 32, "{tag}: {model}");
        assert_eq!(model["shape"]["width"], 32, "{tag}: {model}");
        cleanup(&root);
    }
    // Through the library too: an agreed size inside 4..=1024 is kept, outside it is not.
    let root = temp_dir("small-lib");
    grey_png(&root, "train/a/1.png", 4, 5, 1);
    grey_png(&root, "train/b/1.png", 4, 5, 2);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!((ds.shape.height, ds.shape.width), (5, 4));
    grey_png(&root, "train/a/1.png", 3, 5, 1);
    grey_png(&root, "train/b/1.png", 3, 5, 2);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!((ds.shape.height, ds.shape.width), (32, 32));
    let _ = std::fs::remove_dir_all(&root);
}

// ---------------------------------------------------------------- bad folders

#[test]
fn empty_class_folder_is_an_error_naming_it() {
    let data = tiny_dataset("emptyclass");
    std::fs::create_dir_all(data.join("train/d")).unwrap();
    let out = train(&data, &[]);
    assert_error(&out, &["class folder", "train/d", "is empty"]);
    cleanup(&data);
}

#[test]
fn test_class_missing_from_train_is_an_error_naming_it() {
    let data = tiny_dataset("testclass");
    grey_png(&data, "test/zebra/1.png", 8, 8, 1);
    let out = train(&data, &[]);
    assert_error(
        &out,
        &[
            "test/zebra",
            "\"zebra\"",
            "not a class of train/",
            "a, b, c",
        ],
    );
    cleanup(&data);
}

#[test]
fn missing_or_empty_unlabeled_runs_supervised_only_with_a_warning() {
    for empty in [false, true] {
        let data = tiny_dataset(if empty { "unl-empty" } else { "unl-missing" });
        std::fs::remove_dir_all(data.join("unlabeled")).unwrap();
        if empty {
            std::fs::create_dir_all(data.join("unlabeled/a")).unwrap();
        }
        let out = train(&data, &[]);
        let run = assert_trained(&out, &data);
        assert!(
            all_output(&out).contains("warning: the unlabelled pool is empty"),
            "{}",
            describe(&out)
        );
        let summary = read_json(&run.join("summary.json"));
        assert_eq!(summary["rounds_completed"], 0, "{summary}");
        assert!(
            summary["baseline_test"]["accuracy"].is_number(),
            "{summary}"
        );
        cleanup(&data);
    }
}

#[cfg(unix)]
#[test]
fn symlink_loops_neither_hang_nor_multiply_images() {
    use std::os::unix::fs::symlink;
    let data = tiny_dataset("symloop");
    // Two links to a folder itself (2^depth paths if followed blindly), one to its parent, one
    // to the file system root, one from unlabeled/ to itself, one from a train class to the
    // data root, and links between two sibling folders in both directions.
    symlink(".", data.join("unlabeled/a/self1")).unwrap();
    symlink(".", data.join("unlabeled/a/self2")).unwrap();
    symlink("..", data.join("unlabeled/b/up")).unwrap();
    symlink("/", data.join("unlabeled/c/root")).unwrap();
    symlink(".", data.join("unlabeled/self")).unwrap();
    symlink("../..", data.join("train/b/data-root")).unwrap();
    std::fs::create_dir_all(data.join("unlabeled/x")).unwrap();
    std::fs::create_dir_all(data.join("unlabeled/y")).unwrap();
    symlink("../y", data.join("unlabeled/x/to-y")).unwrap();
    symlink("../x", data.join("unlabeled/y/to-x")).unwrap();
    grey_png(&data, "unlabeled/x/x.png", 8, 8, 40);
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--data"])
        .arg(&data)
        .arg("--runs-dir")
        .arg(runs_of(&data))
        .args([
            "--warmup-epochs",
            "2",
            "--epochs-per-round",
            "1",
            "--rounds",
            "1",
        ]);
    let out = run_limited(cmd, Duration::from_secs(60));
    assert_no_panic(&out);
    let run = assert_trained(&out, &data);
    // 6 real files, plus x.png once more through y/to-x (the links are honoured, loops are
    // not followed).
    let s = started(&run);
    assert_eq!(s["unlabeled"], 8, "{}", describe(&out));
    assert_eq!(
        s["labeled"].as_u64().unwrap() + s["validation"].as_u64().unwrap(),
        12,
        "{}",
        describe(&out)
    );
    cleanup(&data);
}

#[cfg(unix)]
#[test]
fn a_self_referencing_or_dangling_link_is_skipped_and_listed_not_a_hang() {
    use std::os::unix::fs::symlink;
    for (tag, target, os_error) in [
        ("self", "loop.png", "symbolic links"),
        ("dangling", "nowhere.png", "No such file"),
    ] {
        let data = tiny_dataset(&format!("link-{tag}"));
        symlink(target, data.join("unlabeled/loop.png")).unwrap();
        // Skipped like any other bad file, and listed with the OS error.
        let out = train(&data, &[]);
        let run = assert_trained(&out, &data);
        let skipped = skipped_list(&run);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].0, "unlabeled/loop.png");
        assert!(
            skipped[0].1.starts_with("cannot read: ") && skipped[0].1.contains(os_error),
            "{skipped:?}"
        );
        assert_eq!(started(&run)["unlabeled"], 6, "{}", describe(&out));
        // With --on-bad-image fail: an error naming it, the OS error printed once.
        let out = train(&data, &["--on-bad-image", "fail"]);
        assert_error(&out, &["cannot read", "unlabeled/loop.png", os_error]);
        assert_eq!(
            stderr(&out).matches(os_error).count(),
            1,
            "{}",
            describe(&out)
        );
        cleanup(&data);
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_skipped_not_read() {
    use std::os::unix::fs::symlink;
    let data = tiny_dataset("special");
    // Reading a FIFO blocks for ever; reading /dev/zero never ends.
    let fifo = data.join("unlabeled/pipe.png");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let have_fifo = made.is_ok_and(|s| s.success());
    symlink("/dev/zero", data.join("unlabeled/zero.png")).unwrap();
    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    let skipped = skipped_list(&run);
    let mut expect = vec![(
        "unlabeled/zero.png".to_string(),
        "not a regular file".to_string(),
    )];
    if have_fifo {
        expect.insert(
            0,
            ("unlabeled/pipe.png".into(), "not a regular file".into()),
        );
    } else {
        eprintln!("mkfifo unavailable: only the device link is checked");
    }
    assert_eq!(skipped, expect);
    cleanup(&data);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_skipped_and_an_unreadable_folder_is_an_error_naming_them() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let data = tiny_dataset("perm");
    let file = data.join("train/a/0.png");
    chmod(&file, 0o000);
    // Root (and any process with CAP_DAC_OVERRIDE, as in CI containers) reads it anyway, and
    // the same holds for a folder without the read or execute bit: there the run must simply
    // succeed, and only the skip and error assertions are left out.
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let privileged = root || std::fs::read(&file).is_ok();
    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    if privileged {
        eprintln!("permissions do not block reads here (root): skip assertion left out");
    } else {
        let skipped = skipped_list(&run);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].0, "train/a/0.png");
        assert!(skipped[0].1.contains("ermission denied"), "{skipped:?}");
        let out = train(&data, &["--on-bad-image", "fail"]);
        assert_error(&out, &["cannot read", "train/a/0.png", "ermission denied"]);
        assert_eq!(
            stderr(&out).matches("ermission denied").count(),
            1,
            "{}",
            describe(&out)
        );
    }
    chmod(&file, 0o644);

    let dir = data.join("unlabeled/b");
    chmod(&dir, 0o000);
    let privileged = root || std::fs::read_dir(&dir).is_ok();
    std::fs::remove_dir_all(runs_of(&data)).ok();
    let out = train(&data, &[]);
    if privileged {
        eprintln!("permissions do not block folder listing here (root): error assertion skipped");
        assert_trained(&out, &data);
    } else {
        assert_error(&out, &["cannot read", "unlabeled/b", "ermission denied"]);
    }
    chmod(&dir, 0o755);
    cleanup(&data);
}

#[test]
fn missing_data_root_train_folder_or_a_file_instead_of_a_folder() {
    let base = temp_dir("roots");
    let out = train(&base.join("nope"), &[]);
    assert_error(&out, &["dataset root", "nope", "does not exist"]);
    std::fs::create_dir_all(base.join("data")).unwrap();
    let out = train(&base.join("data"), &[]);
    assert_error(&out, &["data/train", "does not exist"]);
    std::fs::write(base.join("data/train"), b"a file").unwrap();
    let out = train(&base.join("data"), &[]);
    assert_error(&out, &["data/train", "is not a folder"]);
    std::fs::remove_file(base.join("data/train")).unwrap();
    std::fs::create_dir_all(base.join("data/train")).unwrap();
    let out = train(&base.join("data"), &[]);
    assert_error(&out, &["data/train", "holds no class folder"]);
    let _ = std::fs::remove_dir_all(&base);
}

// ---------------------------------------------------------------- the image decoder directly

#[test]
fn decode_image_file_refuses_garbage_with_the_file_name() {
    let dir = temp_dir("decode");
    let shape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", vec![], "empty"),
        ("text.png", b"hello".to_vec(), "cannot decode"),
        ("noise.gif", noise(64, 9), "cannot decode"),
        ("bomb.png", bomb_png_bytes(1 << 30), "limit"),
        ("huge.png", bomb_png_bytes(20_000), "limit"),
        ("truncated.png", png_bytes()[..40].to_vec(), "cannot decode"),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = decode_image_file(&path, shape, ResizePolicy::Stretch)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(name) && err.to_lowercase().contains(needle),
            "{name}: {err}"
        );
    }
    // A valid image decodes.
    std::fs::write(dir.join("ok.png"), png_bytes()).unwrap();
    assert_eq!(
        decode_image_file(&dir.join("ok.png"), shape, ResizePolicy::Stretch)
            .unwrap()
            .len(),
        64
    );
    // The library honours the fail policy as well.
    grey_png(&dir, "data/train/a/1.png", 8, 8, 1);
    std::fs::write(dir.join("data/train/a/2.png"), b"junk").unwrap();
    let mut opts = DatasetOptions::new(dir.join("data"));
    opts.on_bad_image = BadImagePolicy::Fail;
    let err = load_dataset(&opts).unwrap_err().to_string();
    assert!(err.contains("2.png"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- IDX files

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

#[test]
fn idx_parsers_refuse_bad_bytes_without_panicking() {
    let mut images_ok = idx_header(0x803, &[2, 2, 3]);
    images_ok.extend([7; 12]);
    assert_eq!(parse_idx_images(&images_ok).unwrap().count, 2);
    let mut labels_ok = idx_header(0x801, &[3]);
    labels_ok.extend([0, 1, 2]);
    assert_eq!(parse_idx_labels(&labels_ok).unwrap(), vec![0, 1, 2]);

    let image_cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "too short"),
        (vec![0, 0, 8], "too short"),
        (idx_header(0x803, &[1, 2]), "too short"),
        (idx_header(0x801, &[1]), "magic"),
        (idx_header(0x0000_0d03, &[1, 1, 1]), "magic"),
        (idx_header(0x803, &[3, 2, 2]), "truncated"),
        (
            [idx_header(0x803, &[1, 1, 1]), vec![1, 2]].concat(),
            "oversized",
        ),
        (
            idx_header(0x803, &[u32::MAX, u32::MAX, u32::MAX]),
            "overflows",
        ),
        (idx_header(0x803, &[u32::MAX, 65536, 65536]), "truncated"),
        (idx_header(0x803, &[1, 0, 28]), "empty"),
        (vec![0x1f, 0x8b, 8, 0, 1, 2, 3], "gzip"),
    ];
    for (bytes, needle) in image_cases {
        let err = parse_idx_images(&bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{bytes:?}: {err}");
    }
    let label_cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "too short"),
        (idx_header(0x803, &[1]), "magic"),
        (idx_header(0x801, &[u32::MAX]), "truncated"),
        ([idx_header(0x801, &[1]), vec![1, 2]].concat(), "oversized"),
        (vec![0x1f, 0x8b], "invalid gzip data"),
    ];
    for (bytes, needle) in label_cases {
        let err = parse_idx_labels(&bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{bytes:?}: {err}");
    }
}

#[test]
fn import_idx_with_bad_files_is_an_error_naming_the_file() {
    let dir = temp_dir("idx");
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let images = write(
        "images",
        [idx_header(0x803, &[4, 2, 2]), vec![9; 16]].concat(),
    );
    let labels = write(
        "labels",
        [idx_header(0x801, &[4]), vec![0, 1, 0, 1]].concat(),
    );
    let bad_magic = write(
        "bad-magic",
        [idx_header(0x804, &[4, 2, 2]), vec![9; 16]].concat(),
    );
    let short = write(
        "short",
        [idx_header(0x803, &[5, 2, 2]), vec![9; 16]].concat(),
    );
    let long_labels = write(
        "long-labels",
        [idx_header(0x801, &[4]), vec![0; 9]].concat(),
    );
    let three_labels = write(
        "three-labels",
        [idx_header(0x801, &[3]), vec![0, 1, 0]].concat(),
    );
    let garbage_gz = write("garbage.gz", [vec![0x1f, 0x8b], noise(40, 5)].concat());

    let import = |images: &Path, labels: &Path, out: &str| {
        let mut cmd = bin();
        cmd.args(["import", "idx", "--images"])
            .arg(images)
            .arg("--labels")
            .arg(labels)
            .arg("--out")
            .arg(dir.join(out))
            .args(["--labels-per-class", "1"]);
        run_limited(cmd, Duration::from_secs(60))
    };
    let out = import(&bad_magic, &labels, "o1");
    assert_error(
        &out,
        &[
            "bad-magic",
            "magic 0x00000804",
            "expected an IDX image file",
        ],
    );
    let out = import(&short, &labels, "o2");
    assert_error(&out, &["short", "truncated", "5 images of 2x2"]);
    let out = import(&images, &long_labels, "o3");
    assert_error(
        &out,
        &["long-labels", "oversized", "header says 4 labels but 9"],
    );
    let out = import(&labels, &images, "o4");
    assert_error(
        &out,
        &["labels", "expected an IDX image file", "a label file"],
    );
    let out = import(&images, &three_labels, "o5");
    assert_error(
        &out,
        &["holds 4 images but", "three-labels", "holds 3 labels"],
    );
    let out = import(&garbage_gz, &labels, "o6");
    assert_error(&out, &["garbage.gz", "gzip"]);
    let out = import(&dir.join("missing"), &labels, "o7");
    assert_error(&out, &["missing"]);
    // Nothing was written by the failed imports.
    for o in ["o1", "o2", "o3", "o4", "o5", "o6", "o7"] {
        assert!(!dir.join(o).join("train").exists(), "{o}");
    }
    // The good pair imports.
    let out = import(&images, &labels, "ok");
    assert!(out.status.success(), "{}", describe(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- configuration and flags

/// Out-of-range values: (TOML line, flag, field named in the error).
const OUT_OF_RANGE: &[(&str, &str, &str)] = &[
    ("threshold = 1.5", "--threshold=1.5", "threshold"),
    ("threshold = -0.1", "--threshold=-0.1", "threshold"),
    (
        "pseudo_weight = -1.0",
        "--pseudo-weight=-1",
        "pseudo_weight",
    ),
    ("learning_rate = 0.0", "--lr=0", "learning_rate"),
    ("learning_rate = -0.001", "--lr=-0.001", "learning_rate"),
    ("batch_size = 0", "--batch-size=0", "batch_size"),
    ("val_fraction = 1.0", "--val-fraction=1", "val_fraction"),
    ("dropout = 1.0", "--dropout=1", "dropout"),
    (
        "balance_slack = 0.5",
        "--balance-slack=0.5",
        "balance_slack",
    ),
    (
        "min_labeled_share = 2.0",
        "--min-labeled-share=2",
        "min_labeled_share",
    ),
    ("weight_decay = -1.0", "--weight-decay=-1", "weight_decay"),
    ("mixup = -0.5", "--mixup=-0.5", "mixup"),
    (
        "selection_standard_errors = -1.0",
        "--selection-standard-errors=-1",
        "selection_standard_errors",
    ),
    ("channels = 2", "--channels=2", "channels"),
    ("crop_scale = 0.0", "--crop-scale=0", "crop_scale"),
    ("crop_scale = 1.5", "--crop-scale=1.5", "crop_scale"),
    ("colour_jitter = 1.0", "--colour-jitter=1", "colour_jitter"),
    (
        "colour_jitter = -0.1",
        "--colour-jitter=-0.1",
        "colour_jitter",
    ),
    (
        "backbone_lr_scale = 1.5",
        "--backbone-lr-scale=1.5",
        "backbone_lr_scale",
    ),
    (
        "backbone_lr_scale = -0.1",
        "--backbone-lr-scale=-0.1",
        "backbone_lr_scale",
    ),
    ("image_size = [0, 0]", "--image-size=0x0", "image_size"),
    (
        "image_size = [2, 5000]",
        "--image-size=2x5000",
        "image_size",
    ),
    ("device = \"tpu\"", "--device=tpu", "device"),
    (
        "curriculum_step = 0.0",
        "--curriculum-step=0",
        "curriculum_step",
    ),
    (
        "curriculum_step = 1.5",
        "--curriculum-step=1.5",
        "curriculum_step",
    ),
    ("mc_passes = 0", "--mc-passes=0", "mc_passes"),
    ("mc_passes = 1", "--mc-passes=1", "mc_passes"),
    (
        "uncertainty_kappa = -0.1",
        "--uncertainty-kappa=-0.1",
        "uncertainty_kappa",
    ),
    (
        "outlier_filter = 1.0",
        "--outlier-filter=1",
        "outlier_filter",
    ),
    (
        "outlier_filter = -0.2",
        "--outlier-filter=-0.2",
        "outlier_filter",
    ),
];

#[test]
fn an_unknown_policy_lists_the_valid_ones_and_uncertainty_needs_dropout() {
    let data = tiny_dataset("policy");
    let valid = [
        "threshold",
        "class-balanced",
        "flexmatch",
        "freematch",
        "softmatch",
        "curriculum",
        "uncertainty",
    ];
    let out = train(&data, &["--pseudo-policy", "fixmatch"]);
    assert_error(&out, &["--pseudo-policy", "fixmatch"]);
    for name in valid {
        assert!(all_output(&out).contains(name), "{}", describe(&out));
    }
    let file = data.parent().unwrap().join("policy.toml");
    std::fs::write(&file, "pseudo_policy = \"fixmatch\"\n").unwrap();
    let out = train(&data, &["--config", file.to_str().unwrap()]);
    assert_error(&out, &["pseudo_policy", "fixmatch"]);
    for name in valid {
        assert!(all_output(&out).contains(name), "{}", describe(&out));
    }
    for flags in [
        &["--pseudo-policy", "uncertainty", "--dropout", "0"][..],
        &["--pseudo-policy", "uncertainty", "--model", "small"][..],
    ] {
        let out = train(&data, flags);
        assert_error(&out, &["config field `pseudo_policy`", "dropout"]);
    }
    std::fs::write(&file, "pseudo_policy = \"uncertainty\"\ndropout = 0.0\n").unwrap();
    let out = train(&data, &["--config", file.to_str().unwrap()]);
    assert_error(&out, &["config field `pseudo_policy`", "dropout"]);
    assert!(
        !runs_of(&data).exists(),
        "no run directory for a refused policy"
    );
    cleanup(&data);
}

#[test]
fn out_of_range_values_in_a_config_file_name_the_field() {
    let data = tiny_dataset("cfgfile");
    for (i, (line, _, field)) in OUT_OF_RANGE.iter().enumerate() {
        let file = data.parent().unwrap().join(format!("bad-{i}.toml"));
        std::fs::write(&file, format!("{line}\n")).unwrap();
        let out = train(&data, &["--config", file.to_str().unwrap()]);
        assert_error(&out, &[&format!("config field `{field}`")]);
        assert!(
            !runs_of(&data).exists(),
            "no run directory for a refused config"
        );
        // The library says the same.
        let err = TrainConfig::from_toml_str(line).unwrap_err().to_string();
        assert!(err.contains(field), "{line}: {err}");
    }
    cleanup(&data);
}

#[test]
fn out_of_range_flags_name_the_field() {
    let data = tiny_dataset("cfgflags");
    for (_, flag, field) in OUT_OF_RANGE {
        let out = train(&data, &[flag]);
        assert_error(&out, &[&format!("config field `{field}`")]);
        assert!(
            !runs_of(&data).exists(),
            "no run directory for a refused flag"
        );
    }
    // Values that are not numbers at all are refused by the flag parser, naming the flag.
    for flag in [
        "--threshold=abc",
        "--batch-size=-1",
        "--rounds=1e99",
        "--lr=",
        "--seed=x",
    ] {
        let out = train(&data, &[flag]);
        assert_error(&out, &[flag.split('=').next().unwrap()]);
    }
    cleanup(&data);
}

#[test]
fn unknown_device_names_it() {
    let data = tiny_dataset("device");
    for device in ["tpu", "cuda:x", "cuda:-1", ""] {
        let out = train(&data, &["--device", device]);
        assert_error(&out, &["config field `device`", "unknown device"]);
    }
    cleanup(&data);
}

#[test]
fn malformed_config_files_are_errors_naming_the_file() {
    let data = tiny_dataset("cfgbad");
    let dir = data.parent().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("syntax.toml", b"threshold = = 1\n", "TOML parse error"),
        ("type.toml", b"batch_size = \"big\"\n", "batch_size"),
        ("unknown.toml", b"treshold = 0.5\n", "treshold"),
        ("nan.toml", b"threshold = nan\n", "threshold"),
        ("inf.toml", b"learning_rate = inf\n", "learning_rate"),
        ("negative.toml", b"rounds = -3\n", "rounds"),
        ("binary.toml", b"\xff\xfe\x00garbage", "config file"),
        ("enum.toml", b"acceptance = \"maybe\"\n", "acceptance"),
        (
            "weights.toml",
            b"class_weights = [1.0, -2.0, 1.0]\n",
            "class_weights",
        ),
    ];
    for (name, text, needle) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = train(&data, &["--config", file.to_str().unwrap()]);
        assert_error(&out, &[needle]);
        // A file that does not parse is named; a value out of range names its field.
        let err = stderr(&out);
        assert!(
            err.contains(name) || err.contains("config field"),
            "{}",
            describe(&out)
        );
    }
    let out = train(
        &data,
        &["--config", dir.join("absent.toml").to_str().unwrap()],
    );
    assert_error(&out, &["config file", "absent.toml"]);
    // Weights of the wrong length are caught once the classes are known.
    let file = dir.join("len.toml");
    std::fs::write(&file, "class_weights = [1.0, 2.0]\n").unwrap();
    let out = train(&data, &["--config", file.to_str().unwrap()]);
    assert_error(&out, &["class_weights", "2 weights given for 3 classes"]);
    cleanup(&data);
}

/// `--strong-augment N,M` / `strong_augment = [N, M]`: N in 0..=11, M in 0..=10; anything else
/// is refused naming the flag or the field, before a run directory exists.
#[test]
fn bad_strong_augment_values_name_the_flag_or_the_field() {
    let data = tiny_dataset("strongaug");
    for (value, problem) in [
        ("12,5", "must be within 0..=11, got 12"),
        ("2,11", "must be within 0..=10, got 11"),
        ("2", "is not N,M"),
        ("2,9,1", "is not N,M"),
        ("a,b", "is not N,M"),
        ("-1,5", "is not N,M"),
        ("", "is not N,M"),
    ] {
        let out = train(&data, &[&format!("--strong-augment={value}")]);
        assert_error(&out, &["--strong-augment", problem]);
        assert!(!runs_of(&data).exists(), "no run directory for {value:?}");
    }
    let dir = data.parent().unwrap();
    for (i, (line, needle)) in [
        ("strong_augment = [12, 5]", "must be within 0..=11, got 12"),
        ("strong_augment = [2, 11]", "must be within 0..=10, got 11"),
        ("strong_augment = [2]", "strong_augment"),
        ("strong_augment = [-1, 5]", "strong_augment"),
        ("strong_augment = \"2,9\"", "strong_augment"),
    ]
    .iter()
    .enumerate()
    {
        let file = dir.join(format!("strong-{i}.toml"));
        std::fs::write(&file, format!("{line}\n")).unwrap();
        let out = train(&data, &["--config", file.to_str().unwrap()]);
        assert_error(&out, &["strong_augment", needle]);
        assert!(!runs_of(&data).exists(), "no run directory for {line}");
    }
    // The good values train and are recorded, from a flag and from a file.
    let out = train(&data, &["--strong-augment", "11,10"]);
    let run = assert_trained(&out, &data);
    let saved = TrainConfig::from_toml_file(&run.join("config.toml")).unwrap();
    assert_eq!(saved.strong_augment, [11, 10]);
    let file = dir.join("strong-ok.toml");
    std::fs::write(&file, "strong_augment = [2, 9]\n").unwrap();
    let out = train(&data, &["--config", file.to_str().unwrap()]);
    let run = assert_trained(&out, &data);
    let saved = TrainConfig::from_toml_file(&run.join("config.toml")).unwrap();
    assert_eq!(saved.strong_augment, [2, 9]);
    cleanup(&data);
}

// ---------------------------------------------------------------- flags the trainer cannot take

/// Integer flags above `i64::MAX` cannot be written to the run's `config.toml` (TOML integers
/// are 64-bit signed): `TrainConfig::validate` refuses them with the field's name.
#[test]
fn integer_flags_too_large_for_toml_are_refused() {
    let data = tiny_dataset("bigints");
    for (flag, field) in [
        ("--patience=18446744073709551615", "patience"),
        (
            "--pseudo-ramp-rounds=9223372036854775808",
            "pseudo_ramp_rounds",
        ),
        ("--batch-size=18446744073709551615", "batch_size"),
        ("--augment-shift=18446744073709551615", "augment_shift"),
    ] {
        let out = train(&data, &[flag]);
        assert_error(&out, &[&format!("config field `{field}`")]);
    }
    cleanup(&data);
}

/// `bench` checks `--size` as `image_size` is checked: below 4×4 the model cannot run.
#[test]
fn bench_refuses_sizes_the_model_cannot_take() {
    for size in ["0x0", "2x2", "3x28"] {
        let mut cmd = bin();
        cmd.args([
            "bench",
            "--size",
            size,
            "--train-steps",
            "1",
            "--infer-batches",
            "1",
        ]);
        let out = run_limited(cmd, Duration::from_secs(120));
        assert_error(&out, &["size"]);
    }
}

// ---------------------------------------------------------------- one writer per run directory

/// The run directories under `runs`.
fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// The `started` records of a run's metrics.jsonl so far (a torn last line is skipped).
fn started_records(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["type"] == "started")
        .collect()
}

/// Polls `ready` every 50 ms for up to two minutes, failing if `child` exits first.
fn wait_until(child: &mut std::process::Child, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before {what}"
        );
        assert!(Instant::now() < deadline, "{what}: not within two minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A background process, killed if a failed assertion leaves it running.
struct Background(std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `cmd` started in the background with no input or output.
fn background(mut cmd: Command) -> Background {
    Background(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_live_run_refuses_a_second_writer_and_a_killed_one_does_not_block_a_resume() {
    let data = tiny_dataset("lock");
    let runs = runs_of(&data);
    // A run far too long to finish, checkpointing every second.
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--data"])
        .arg(&data)
        .arg("--runs-dir")
        .arg(&runs)
        .args([
            "--warmup-epochs",
            "1000000",
            "--rounds",
            "1",
            "--seed",
            "0",
            "--checkpoint-every-secs",
            "1",
        ]);
    let Background(live) = &mut background(cmd);
    wait_until(live, "a resumable checkpoint", || {
        run_dirs(&runs)
            .first()
            .is_some_and(|r| r.join("resume.json").is_file())
    });
    let run = only_run_dir(&runs);

    // A second writer fails at once, naming the directory and the live process; it writes
    // nothing (the live run's log still has its one `started` record).
    for _ in 0..2 {
        let mut cmd = bin();
        cmd.args(["train", "--headless", "--resume"]).arg(&run);
        let start = Instant::now();
        let out = run_limited(cmd, Duration::from_secs(60));
        assert_error(
            &out,
            &[
                &format!("run directory {} is in use", run.display()),
                &format!("by process {} (selftrain train)", live.id()),
                "wait for it or stop it",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not refused at once"
        );
    }
    assert!(live.try_wait().unwrap().is_none(), "the live run goes on");
    assert_eq!(started_records(&run).len(), 1);
    let lock = std::fs::read_to_string(run.join("run.lock")).unwrap();
    assert_eq!(lock.trim(), live.id().to_string());

    // kill -9 leaves run.lock behind; it does not block the resume.
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(run.join("run.lock").is_file());
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--resume"]).arg(&run);
    let Background(resumed) = &mut background(cmd);
    wait_until(resumed, "the resumed run's start", || {
        started_records(&run)
            .last()
            .is_some_and(|s| s["resumed_at_step"].is_u64())
    });
    let lock = std::fs::read_to_string(run.join("run.lock")).unwrap();
    assert_eq!(
        lock.trim(),
        resumed.id().to_string(),
        "the new holder's pid"
    );
    let status = Command::new("kill")
        .args(["-INT", &resumed.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = resumed.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        read_json(&run.join("summary.json"))["stop_reason"],
        "stopped"
    );
    cleanup(&data);
}

// ---------------------------------------------------------------- negative numbers after a flag

/// `selftrain train --headless` on `data` with only `flags` (no budget flags of [`train`], so a
/// flag may be given that [`train`] already gives).
fn train_with(data: &Path, flags: &[&str]) -> Output {
    let _ = std::fs::remove_dir_all(runs_of(data));
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--data"])
        .arg(data)
        .arg("--runs-dir")
        .arg(runs_of(data))
        .args(flags);
    run_limited(cmd, Duration::from_secs(120))
}

#[test]
fn a_negative_number_after_a_flag_is_its_value() {
    let data = tiny_dataset("negative");
    let not_a_flag = |out: &Output| {
        let err = stderr(out);
        assert!(
            !err.contains("unexpected argument") && !err.contains("a value is required"),
            "{}",
            describe(out)
        );
    };
    // Out of range: the configuration's validation names the field.
    for (flags, field) in [
        (["--threshold", "-0.1"], "threshold"),
        (["--lr", "-0.001"], "learning_rate"),
        (["--pseudo-weight", "-1"], "pseudo_weight"),
        (
            ["--selection-standard-errors", "-1"],
            "selection_standard_errors",
        ),
    ] {
        let out = train_with(&data, &flags);
        assert_error(&out, &[&format!("config field `{field}`"), flags[1]]);
        not_a_flag(&out);
    }
    // Unsigned flags: the flag's parser refuses the value, naming the flag.
    for flag in ["--seed", "--batch-size", "--rounds"] {
        let out = train_with(&data, &[flag, "-1"]);
        assert_error(&out, &[&format!("invalid value '-1' for '{flag}")]);
        not_a_flag(&out);
    }
    // In range: -0 is a threshold of zero, and the run trains.
    let out = train(&data, &["--threshold", "-0"]);
    let run = assert_trained(&out, &data);
    assert_eq!(started(&run)["threshold"].as_f64(), Some(0.0));
    cleanup(&data);
}

// ---------------------------------------------------------------- data, memory and report checks

/// [`train`] with environment variables set for the binary.
fn train_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let _ = std::fs::remove_dir_all(runs_of(data));
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--data"])
        .arg(data)
        .arg("--runs-dir")
        .arg(runs_of(data))
        .args([
            "--warmup-epochs",
            "2",
            "--epochs-per-round",
            "1",
            "--rounds",
            "1",
        ])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_limited(cmd, Duration::from_secs(120));
    assert_no_panic(&out);
    out
}

#[test]
fn a_run_that_cannot_fit_in_memory_is_refused_before_decoding_with_the_numbers() {
    let data = tiny_dataset("memory");
    // With --on-bad-image fail, decoding this file would be the error: the refusal comes first.
    std::fs::write(at(&data, "train/a/corrupt.png"), noise(300, 3)).unwrap();
    let env = [("SELFTRAIN_MEM_AVAILABLE", "1G")];
    let flags = [
        "--image-size",
        "1024x1024",
        "--channels",
        "1",
        "--on-bad-image",
        "fail",
    ];
    let out = train_with_env(&data, &flags, &env);
    assert_error(
        &out,
        &[
            "not enough memory",
            "of 1x1024x1024",
            "but only 1.0 GiB is available",
        ],
    );
    let err = stderr(&out);
    assert!(!err.contains("corrupt.png"), "{}", describe(&out));
    assert!(err.contains("memory estimate: "), "{}", describe(&out));
    // The same data at its own size fits, and the run's header gives the estimate.
    std::fs::remove_file(data.join("train/a/corrupt.png")).unwrap();
    let out = train_with_env(&data, &[], &env);
    assert_trained(&out, &data);
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("memory estimate: "))
        .unwrap_or_else(|| panic!("no estimate line: {}", describe(&out)));
    assert!(line.ends_with(" of 1.0 GiB available"), "{line}");
    // A malformed override is an error naming the variable.
    let out = train_with_env(&data, &[], &[("SELFTRAIN_MEM_AVAILABLE", "lots")]);
    assert_error(&out, &["SELFTRAIN_MEM_AVAILABLE", "lots"]);
    cleanup(&data);
}

#[test]
fn report_on_huge_but_finite_losses_finishes_with_charts() {
    let data = tiny_dataset("huge-loss");
    let run = assert_trained(&train(&data, &[]), &data);
    let metrics = run.join("metrics.jsonl");
    let mut lines = Vec::new();
    let mut i = 0;
    for mut record in read_jsonl(&metrics) {
        if record["type"] == "loss" {
            let huge = [1e307, 1.7e308, f64::MAX][i % 3];
            i += 1;
            record["supervised"] = serde_json::json!(huge);
            record["total"] = serde_json::json!(huge);
        }
        lines.push(serde_json::to_string(&record).unwrap());
    }
    assert!(i > 0, "the run recorded no loss");
    std::fs::write(&metrics, lines.join("\n") + "\n").unwrap();
    let mut cmd = bin();
    cmd.arg("report").arg(&run);
    let out = run_limited(cmd, Duration::from_secs(60));
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", describe(&out));
    let png = std::fs::read(run.join("report/loss.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "loss.png is not a PNG");
    cleanup(&data);
}

#[cfg(unix)]
#[test]
fn class_folders_whose_names_are_not_utf8_are_refused_by_path() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let data = tiny_dataset("utf8");
    // Two folders that differ only in invalid bytes: lossy names would make them one class.
    for bytes in [&b"d\xff"[..], &b"d\xfe"[..]] {
        let dir = data.join("train").join(OsStr::from_bytes(bytes));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0.png"), png_bytes()).unwrap();
    }
    let out = train(&data, &[]);
    assert_error(&out, &["train/d", "not valid UTF-8"]);
    cleanup(&data);
}

#[test]
fn a_minority_of_odd_images_deciding_the_shape_is_named_in_a_warning() {
    let data = tiny_dataset("odd-shape");
    grey_png(&data, "unlabeled/tiny.png", 1, 1, 1);
    RgbImage::from_pixel(8, 8, Rgb([200, 10, 10]))
        .save(at(&data, "unlabeled/red.png"))
        .unwrap();
    let out = train(&data, &[]);
    assert_trained(&out, &data);
    let all = all_output(&out);
    assert!(
        all.contains("warning: images differ in size") && all.contains("unlabeled/tiny.png (1x1)"),
        "{}",
        describe(&out)
    );
    assert!(
        all.contains("have colour") && all.contains("unlabeled/red.png"),
        "{}",
        describe(&out)
    );
    cleanup(&data);
}

#[test]
fn a_runs_folder_inside_the_data_is_refused_and_old_runs_inside_are_left_out() {
    let data = tiny_dataset("runs-inside");
    let out = {
        let mut cmd = bin();
        cmd.args(["train", "--headless", "--data"])
            .arg(&data)
            .arg("--runs-dir")
            .arg(data.join("unlabeled/runs"))
            .args(["--warmup-epochs", "1", "--rounds", "0"]);
        run_limited(cmd, Duration::from_secs(120))
    };
    assert_error(
        &out,
        &["unlabeled/runs", "--runs-dir", "outside the data folder"],
    );
    // A previous run copied into the data: its PNG charts are not read as images.
    let run = assert_trained(&train(&data, &[]), &data);
    let mut report = bin();
    report.arg("report").arg(&run);
    let out = run_limited(report, Duration::from_secs(60));
    assert!(out.status.success(), "{}", describe(&out));
    let copy = data.join("unlabeled/old-run");
    std::fs::create_dir_all(copy.join("report")).unwrap();
    for f in ["metrics.jsonl", "summary.json", "report/loss.png"] {
        std::fs::copy(run.join(f), copy.join(f)).unwrap();
    }
    let out = train(&data, &[]);
    let run = assert_trained(&out, &data);
    assert_eq!(started(&run)["unlabeled"], 6, "{}", describe(&out));
    let all = all_output(&out);
    assert!(
        all.contains("unlabeled/old-run") && all.contains("left out"),
        "{}",
        describe(&out)
    );
    cleanup(&data);
}

#[test]
fn degenerate_setups_are_refused_or_warned_about() {
    // A single class: nothing to learn.
    let base = temp_dir("one-class");
    let data = base.join("data");
    for i in 0..4 {
        grey_png(&data, &format!("train/only/{i}.png"), 8, 8, i);
    }
    let out = train(&data, &[]);
    assert_error(&out, &["train", "single class"]);
    let _ = std::fs::remove_dir_all(&base);

    // Every class weight 0: the supervised loss is always 0.
    let data = tiny_dataset("zero-weights");
    let config = data.parent().unwrap().join("zero.toml");
    std::fs::write(&config, "class_weights = [0.0, 0.0, 0.0]\n").unwrap();
    let out = train(&data, &["--config", config.to_str().unwrap()]);
    assert_error(&out, &["class_weights", "every weight is 0"]);

    // A shift as large as the image: a warning naming the field.
    let out = train(&data, &["--augment-shift", "8"]);
    assert_trained(&out, &data);
    let all = all_output(&out);
    assert!(
        all.contains("warning: config field `augment_shift`") && all.contains("8x8"),
        "{}",
        describe(&out)
    );
    cleanup(&data);
}

/// A 2×2 IDX image file and label file in `dir`, one image per label.
fn tiny_idx_pair(dir: &Path, labels: &[u8]) -> (PathBuf, PathBuf) {
    let images = dir.join("images");
    let n = labels.len() as u32;
    std::fs::write(
        &images,
        [idx_header(0x803, &[n, 2, 2]), vec![9; 4 * labels.len()]].concat(),
    )
    .unwrap();
    let label_file = dir.join("labels");
    std::fs::write(
        &label_file,
        [idx_header(0x801, &[n]), labels.to_vec()].concat(),
    )
    .unwrap();
    (images, label_file)
}

/// `import idx` of `tiny_idx_pair`'s files into `dir/out`, one labelled image per class.
fn import_tiny(dir: &Path, images: &Path, labels: &Path, extra: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.args(["import", "idx", "--images"])
        .arg(images)
        .arg("--labels")
        .arg(labels)
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--labels-per-class", "1"])
        .args(extra);
    run_limited(cmd, Duration::from_secs(60))
}

#[test]
fn import_idx_names_an_out_of_range_label() {
    let dir = temp_dir("idx-range");
    let (images, labels) = tiny_idx_pair(&dir, &[0, 1, 0, 1, 77, 1]);
    let out = import_tiny(&dir, &images, &labels, &[]);
    assert_error(&out, &["labels", "label 77 of sample 4", "out of range"]);
    assert!(
        !stderr(&out).contains("only 0 samples"),
        "{}",
        describe(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_idx_refuses_an_imbalance_ratio_below_one() {
    let dir = temp_dir("idx-imbalance");
    let (images, labels) = tiny_idx_pair(&dir, &[0, 1, 0, 1]);
    for ratio in ["0.5", "-3", "NaN", "inf"] {
        let out = import_tiny(&dir, &images, &labels, &["--imbalance-ratio", ratio]);
        assert_error(&out, &["imbalance ratio", "≥ 1"]);
        assert!(
            !dir.join("out").join("train").exists(),
            "{}",
            describe(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- divergence, damaged checkpoints, changed data

#[test]
fn a_diverging_run_fails_with_a_named_error_and_writes_no_summary() {
    let data = tiny_dataset("diverge");
    let out = train(&data, &["--lr", "1e20"]);
    assert_error(&out, &["training diverged", "at step", "--lr"]);
    let err = stderr(&out);
    assert!(err.contains("NaN") || err.contains("inf"), "{err}");
    assert_ne!(out.status.code(), Some(130), "{}", describe(&out));
    // The evaluation lines printed before the failure never show the clamped loss of 27.63.
    assert!(
        !all_output(&out).contains("loss 27.63"),
        "{}",
        describe(&out)
    );
    let run = only_run_dir(&runs_of(&data));
    assert!(!run.join("summary.json").exists(), "{}", describe(&out));
    let failed = read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .any(|m| m["type"] == "failed" && m["message"].to_string().contains("diverged"));
    assert!(
        failed,
        "metrics.jsonl records the failure: {}",
        describe(&out)
    );
    cleanup(&data);
}

/// A finished run of `data` whose `resume.json` is turned back to the start of round 1, so that
/// `--resume` continues it; returns the run directory and its resume state.
fn resumable_run(data: &Path) -> (PathBuf, serde_json::Value) {
    let out = train(data, &[]);
    let run = assert_trained(&out, data);
    let path = run.join("resume.json");
    let mut state = read_json(&path);
    state["position"] = serde_json::json!({"at": "round_start", "round": 1});
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    (run, state)
}

fn resume(run: &Path) -> Output {
    let mut cmd = bin();
    cmd.args(["train", "--headless", "--resume"]).arg(run);
    let out = run_limited(cmd, Duration::from_secs(120));
    assert_no_panic(&out);
    out
}

#[test]
fn a_bit_flipped_checkpoint_is_refused_on_resume_naming_the_file() {
    let data = tiny_dataset("ckpt-flip");
    let (run, state) = resumable_run(&data);
    assert!(state["model_checksum"].is_string(), "{state}");
    assert!(state["optimizer_checksum"].is_string(), "{state}");
    let model_file = state["model_file"].as_str().unwrap();
    let path = run.join(model_file);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let out = resume(&run);
    assert_error(&out, &[model_file, "checksum"]);
    cleanup(&data);
}

#[test]
fn resuming_on_changed_data_names_a_new_class_and_warns_about_changed_files() {
    let data = tiny_dataset("data-changed");
    let (run, state) = resumable_run(&data);
    assert_eq!(
        state["data_fingerprint"]["classes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Files removed: the run resumes, with a warning.
    std::fs::remove_file(data.join("test/a/1.png")).unwrap();
    let out = resume(&run);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        all_output(&out).contains("warning: the data changed"),
        "{}",
        describe(&out)
    );
    // A class added: refused before the model is loaded, naming the class.
    let path = run.join("resume.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    for i in 0..4 {
        grey_png(&data, &format!("train/d/{i}.png"), 8, 8, 90 + i);
    }
    let out = resume(&run);
    assert_error(&out, &["resume.json", "class 'd' was added"]);
    cleanup(&data);
}

#[test]
fn init_from_takes_a_run_and_refuses_files_that_are_not_weights_of_this_model() {
    let data = tiny_dataset("init-from");
    let dir = data.parent().unwrap().to_path_buf();
    let out = train(&data, &["--model", "resnet8"]);
    let source = dir.join("source-run");
    let _ = std::fs::remove_dir_all(&source);
    std::fs::rename(assert_trained(&out, &data), &source).unwrap();
    let source_arg = source.to_str().unwrap();

    // A run directory of the same architecture: its best model, said in the event log, then
    // fine-tuned with a frozen, then slower backbone.
    let out = train(
        &data,
        &[
            "--model",
            "resnet8",
            "--init-from",
            source_arg,
            "--freeze-backbone-epochs",
            "1",
            "--backbone-lr-scale",
            "0.1",
        ],
    );
    let run = assert_trained(&out, &data);
    assert!(
        all_output(&out).contains("initialised from") && all_output(&out).contains("best.bpk"),
        "{}",
        describe(&out)
    );
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("backbone_lr_scale = 0.1"), "{config}");

    // Another architecture than the run's.
    let out = train(&data, &["--init-from", source_arg]);
    assert_error(&out, &["--init-from", "resnet8", "--model resnet8"]);

    // The grey model's first convolution does not fit colour input: named, with both shapes.
    let out = train(
        &data,
        &[
            "--model",
            "resnet8",
            "--channels",
            "3",
            "--init-from",
            source_arg,
        ],
    );
    assert_error(
        &out,
        &[
            "best.bpk",
            "`conv1.weight`",
            "[16, 1, 3, 3]",
            "[16, 3, 3, 3]",
        ],
    );

    // Missing, truncated, and a PyTorch file of something else.
    let missing = dir.join("missing.pt");
    let out = train(
        &data,
        &[
            "--model",
            "resnet8",
            "--init-from",
            missing.to_str().unwrap(),
        ],
    );
    assert_error(&out, &["missing.pt", "no such file"]);
    let bytes = std::fs::read(source.join("best.bpk")).unwrap();
    let truncated = dir.join("truncated.bpk");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let out = train(
        &data,
        &[
            "--model",
            "resnet8",
            "--init-from",
            truncated.to_str().unwrap(),
        ],
    );
    assert_error(&out, &["truncated.bpk", "not a readable"]);
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whole-model.pt");
    let out = train(
        &data,
        &["--model", "resnet8", "--init-from", other.to_str().unwrap()],
    );
    assert_error(
        &out,
        &["whole-model.pt", "none of its tensors fits", "`0.bias`"],
    );
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "x").unwrap();
    let out = train(
        &data,
        &["--model", "resnet8", "--init-from", notes.to_str().unwrap()],
    );
    assert_error(&out, &["notes.txt", "unknown kind of weights file"]);

    // The same from a TOML file.
    let file = dir.join("init.toml");
    std::fs::write(
        &file,
        format!(
            "model = \"resnet8\"\ninit_from = \"{}\"\n",
            missing.display()
        ),
    )
    .unwrap();
    let out = train(&data, &["--config", file.to_str().unwrap()]);
    assert_error(&out, &["missing.pt", "no such file"]);
    cleanup(&data);
}
