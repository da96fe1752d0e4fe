//! Unit tests of the folder loader.

use super::*;
use image::{GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage};
use std::io::Cursor;

fn temp_root(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "selftrain-folder-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn grey(root: &Path, rel: &str, size: u32, value: u8) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_pixel(size, size, Luma([value]))
        .save(&path)
        .unwrap();
}

fn rgb(root: &Path, rel: &str, size: u32, value: [u8; 3]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_pixel(size, size, Rgb(value))
        .save(&path)
        .unwrap();
}

/// train: b (2 images), a (1), c (1); unlabeled: loose file, a/, unknown/; test: a, b.
fn basic(root: &Path) {
    grey(root, "train/b/2.png", 8, 20);
    grey(root, "train/b/1.png", 8, 10);
    grey(root, "train/a/x.png", 8, 30);
    grey(root, "train/c/y.png", 8, 40);
    grey(root, "train/c/.hidden.png", 8, 40);
    fs::write(root.join("train/.DS_Store"), b"junk").unwrap();
    grey(root, "unlabeled/loose.png", 8, 50);
    grey(root, "unlabeled/a/u1.png", 8, 60);
    grey(root, "unlabeled/c/deep/u2.png", 8, 70);
    grey(root, "unlabeled/zebra/u3.png", 8, 80);
    grey(root, "test/a/t.png", 8, 90);
    grey(root, "test/b/t.png", 8, 100);
}

#[test]
fn classes_sorted_truth_and_order() {
    let root = temp_root("basic");
    basic(&root);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.classes, vec!["a", "b", "c"]);
    assert_eq!(ds.num_classes(), 3);
    assert_eq!(
        ds.shape,
        ImageShape {
            channels: 1,
            height: 8,
            width: 8
        }
    );
    assert_eq!(ds.train.labels, vec![Some(0), Some(1), Some(1), Some(2)]);
    assert_eq!(ds.train.files[1], PathBuf::from("train/b/1.png"));
    assert_eq!(ds.train.image(1)[0], 10);
    assert_eq!(ds.train.image(2)[0], 20);
    // Path order: a/, c/deep/, loose.png (no truth), zebra/ (not a class: no truth).
    assert_eq!(ds.unlabeled.labels, vec![Some(0), Some(2), None, None]);
    let files: Vec<String> = ds
        .unlabeled
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    assert_eq!(
        files,
        vec![
            "unlabeled/a/u1.png",
            "unlabeled/c/deep/u2.png",
            "unlabeled/loose.png",
            "unlabeled/zebra/u3.png"
        ]
    );
    let loose = files.iter().position(|f| f.ends_with("loose.png")).unwrap();
    assert_eq!(ds.unlabeled.labels[loose], None);
    assert_eq!(ds.test.as_ref().unwrap().labels, vec![Some(0), Some(1)]);
    assert!(ds.val.is_none());
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn structural_errors() {
    let root = temp_root("errors");
    let e = load_dataset(&DatasetOptions::new(root.join("nope"))).unwrap_err();
    assert!(matches!(e, DataError::MissingRoot(_)), "{e}");
    let e = load_dataset(&DatasetOptions::new(&root)).unwrap_err();
    assert!(e.to_string().contains("train"), "{e}");
    fs::create_dir_all(root.join("train")).unwrap();
    assert!(matches!(
        load_dataset(&DatasetOptions::new(&root)),
        Err(DataError::NoClasses(_))
    ));
    grey(&root, "train/a/1.png", 4, 1);
    fs::create_dir_all(root.join("train/b")).unwrap();
    let e = load_dataset(&DatasetOptions::new(&root))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty") && e.contains("b"), "{e}");
    grey(&root, "train/b/1.png", 4, 1);
    // Missing unlabeled/ and test/ are fine.
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert!(ds.unlabeled.is_empty() && ds.test.is_none());
    // A test class that train lacks.
    grey(&root, "test/dog/1.png", 4, 1);
    let e = load_dataset(&DatasetOptions::new(&root))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"dog\"") && e.contains("test"), "{e}");
    let mut opts = DatasetOptions::new(&root);
    opts.channels = Some(2);
    assert!(matches!(
        load_dataset(&opts),
        Err(DataError::BadChannels(2))
    ));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_files_skip_or_fail() {
    let root = temp_root("bad");
    grey(&root, "train/a/1.png", 6, 1);
    grey(&root, "train/b/1.png", 6, 1);
    fs::write(
        root.join("train/b/broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    fs::write(root.join("train/b/empty.png"), b"").unwrap();
    fs::write(root.join("unlabeled.txt"), b"ignored: not in a split").unwrap();
    fs::create_dir_all(root.join("unlabeled")).unwrap();
    fs::write(root.join("unlabeled/notes.txt"), b"hello").unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.train.len(), 2);
    assert!(ds.unlabeled.is_empty());
    let skipped: Vec<String> = ds
        .skipped
        .iter()
        .map(|s| s.path.display().to_string())
        .collect();
    assert_eq!(
        skipped,
        vec![
            "train/b/broken.png",
            "train/b/empty.png",
            "unlabeled/notes.txt"
        ]
    );
    assert!(ds.skipped[1].reason.contains("empty"));

    let mut opts = DatasetOptions::new(&root);
    opts.on_bad_image = BadImagePolicy::Fail;
    let e = load_dataset(&opts).unwrap_err();
    assert!(matches!(e, DataError::Decode { .. }));
    assert!(e.to_string().contains("broken.png"), "{e}");
    // Same with explicit size and channels (single pass).
    opts.size = Some((6, 6));
    opts.channels = Some(1);
    assert!(
        load_dataset(&opts)
            .unwrap_err()
            .to_string()
            .contains("broken.png")
    );
    // A class whose only file is bad.
    fs::remove_file(root.join("train/b/1.png")).unwrap();
    let e = load_dataset(&DatasetOptions::new(&root)).unwrap_err();
    assert!(matches!(e, DataError::NoUsableImage { .. }), "{e}");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn mixed_sizes_default_and_explicit() {
    let root = temp_root("sizes");
    grey(&root, "train/a/1.png", 28, 200);
    grey(&root, "train/b/1.png", 40, 100);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(
        ds.shape,
        ImageShape {
            channels: 1,
            height: 32,
            width: 32
        }
    );
    assert_eq!(ds.train.pixels.len(), 2 * 32 * 32);
    assert!(ds.train.image(0).iter().all(|&v| v == 200));
    let mut opts = DatasetOptions::new(&root);
    opts.size = Some((10, 12));
    let ds = load_dataset(&opts).unwrap();
    assert_eq!((ds.shape.height, ds.shape.width), (10, 12));
    assert_eq!(ds.train.image(1).len(), 120);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn colour_detection_and_chw() {
    let root = temp_root("colour");
    grey(&root, "train/a/1.png", 4, 9);
    rgb(&root, "train/b/1.png", 4, [10, 20, 30]);
    // An RGB file with equal channels counts as grey.
    rgb(&root, "train/c/1.png", 4, [7, 7, 7]);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.shape.channels, 3);
    let img = ds.train.image(1);
    assert_eq!(&img[..16], &[10; 16]);
    assert_eq!(&img[16..32], &[20; 16]);
    assert_eq!(&img[32..], &[30; 16]);
    assert_eq!(ds.train.image(0), &[9; 48]);

    fs::remove_dir_all(root.join("train/b")).unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.shape.channels, 1);
    assert_eq!(ds.train.image(1), &[7; 16]);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn sixteen_bit_grey_and_decode_image_file() {
    let root = temp_root("16bit");
    let path = root.join("train/a/deep.png");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(5, 4, Luma([65535]));
    img.save(&path).unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(
        ds.shape,
        ImageShape {
            channels: 1,
            height: 4,
            width: 5
        }
    );
    assert!(ds.train.image(0).iter().all(|&v| v == 255));

    let shape = ImageShape {
        channels: 3,
        height: 6,
        width: 10,
    };
    let px = decode_image_file(&path, shape, ResizePolicy::Stretch).unwrap();
    assert_eq!(px.len(), shape.len());
    assert!(px.iter().all(|&v| v == 255));
    let e = decode_image_file(&root.join("missing.png"), shape, ResizePolicy::Stretch).unwrap_err();
    assert!(e.to_string().contains("missing.png"), "{e}");
    let bad = ImageShape {
        channels: 2,
        ..shape
    };
    assert!(matches!(
        decode_image_file(&path, bad, ResizePolicy::Stretch),
        Err(DataError::BadChannels(2))
    ));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn huge_header_is_refused() {
    let root = temp_root("huge");
    grey(&root, "train/a/ok.png", 4, 1);
    // A valid 1x1 PNG whose IHDR is patched to claim 100000 x 100000 pixels.
    let mut bytes = Vec::new();
    GrayImage::from_pixel(1, 1, Luma([0]))
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    fs::write(root.join("train/a/huge.png"), &bytes).unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.train.len(), 1);
    assert_eq!(ds.skipped.len(), 1);
    assert!(ds.skipped[0].path.ends_with("huge.png"));
    let reason = &ds.skipped[0].reason;
    assert!(reason.to_lowercase().contains("limit"), "{reason}");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn loads_the_committed_sample_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    if !root.join("train").is_dir() {
        eprintln!("sample-data/ not generated; skipping");
        return;
    }
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(ds.classes[0], "0-tshirt-top");
    assert_eq!(ds.classes[9], "9-ankle-boot");
    assert_eq!(
        ds.shape,
        ImageShape {
            channels: 1,
            height: 28,
            width: 28
        }
    );
    assert_eq!(ds.train.class_counts(10), vec![10; 10]);
    assert_eq!(ds.unlabeled.class_counts(10), vec![200; 10]);
    assert!(ds.unlabeled.labels.iter().all(Option::is_some));
    assert_eq!(
        ds.test.as_ref().map(|t| t.class_counts(10)),
        Some(vec![50; 10])
    );
    assert!(ds.val.is_none() && ds.skipped.is_empty());
}

#[test]
fn policy_parse_display_serde() {
    assert_eq!(
        "Skip".parse::<BadImagePolicy>().unwrap(),
        BadImagePolicy::Skip
    );
    assert_eq!(
        "fail".parse::<BadImagePolicy>().unwrap(),
        BadImagePolicy::Fail
    );
    assert!("maybe".parse::<BadImagePolicy>().is_err());
    assert_eq!(BadImagePolicy::Fail.to_string(), "fail");
    assert_eq!(BadImagePolicy::default(), BadImagePolicy::Skip);
    assert_eq!(
        serde_json::to_string(&BadImagePolicy::Skip).unwrap(),
        "\"skip\""
    );
    let p: BadImagePolicy = serde_json::from_str("\"fail\"").unwrap();
    assert_eq!(p, BadImagePolicy::Fail);
}

#[cfg(unix)]
#[test]
fn class_folders_differing_only_in_invalid_utf8_are_refused_by_name() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = temp_root("utf8");
    grey(&root, "train/a/1.png", 4, 1);
    // "b\xff" and "b\xfe" both became "b\u{fffd}": one class holding both folders' images.
    for bytes in [&b"b\xff"[..], &b"b\xfe"[..]] {
        let dir = root.join("train").join(OsStr::from_bytes(bytes));
        fs::create_dir_all(&dir).unwrap();
        GrayImage::from_pixel(4, 4, Luma([2]))
            .save(dir.join("1.png"))
            .unwrap();
    }
    let e = load_dataset(&DatasetOptions::new(&root)).unwrap_err();
    assert!(matches!(e, DataError::NonUtf8ClassName(_)), "{e}");
    assert!(
        e.to_string().contains("UTF-8") && e.to_string().contains("train/b"),
        "{e}"
    );
    // In unlabeled/ such a folder is no class: its images come with unknown truth.
    fs::remove_dir_all(root.join("train")).unwrap();
    grey(&root, "train/a/1.png", 4, 1);
    let dir = root.join("unlabeled").join(OsStr::from_bytes(b"a\xff"));
    fs::create_dir_all(&dir).unwrap();
    GrayImage::from_pixel(4, 4, Luma([2]))
        .save(dir.join("1.png"))
        .unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.unlabeled.labels, vec![None]);
    fs::remove_dir_all(&root).unwrap();
}

#[cfg(unix)]
#[test]
fn dangling_and_looping_links_are_skipped_and_listed_or_fail_by_policy() {
    use std::os::unix::fs::symlink;
    let root = temp_root("links");
    grey(&root, "train/a/1.png", 4, 1);
    grey(&root, "train/b/1.png", 4, 1);
    symlink("nowhere.png", root.join("train/b/dangling.png")).unwrap();
    fs::create_dir_all(root.join("unlabeled")).unwrap();
    symlink("loop.png", root.join("unlabeled/loop.png")).unwrap();
    for size in [None, Some((4, 4))] {
        let mut opts = DatasetOptions::new(&root);
        opts.size = size;
        opts.channels = size.map(|_| 1);
        let ds = load_dataset(&opts).unwrap();
        assert_eq!(ds.train.len(), 2);
        let skipped: Vec<String> = ds
            .skipped
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        assert_eq!(skipped, vec!["train/b/dangling.png", "unlabeled/loop.png"]);
        assert!(
            ds.skipped[0].reason.starts_with("cannot read: "),
            "{:?}",
            ds.skipped
        );
        opts.on_bad_image = BadImagePolicy::Fail;
        let e = load_dataset(&opts).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }), "{e}");
        assert!(e.to_string().contains("dangling.png"), "{e}");
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn io_errors_name_the_os_error_once() {
    let root = temp_root("io-once");
    let e = decode_image_file(
        &root.join("missing.png"),
        ImageShape {
            channels: 1,
            height: 4,
            width: 4,
        },
        ResizePolicy::Stretch,
    )
    .unwrap_err();
    let shown = format!("{:#}", anyhow::Error::from(e));
    assert_eq!(shown.matches("No such file").count(), 1, "{shown}");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn run_directories_inside_a_split_are_left_out_with_a_warning() {
    let root = temp_root("runs");
    grey(&root, "train/a/1.png", 4, 1);
    grey(&root, "train/b/1.png", 4, 2);
    grey(&root, "unlabeled/u.png", 4, 3);
    // A previous run's output inside unlabeled/, and a runs folder among the classes.
    grey(&root, "unlabeled/runs/20260101-000000/loss.png", 4, 4);
    fs::write(
        root.join("unlabeled/runs/20260101-000000/metrics.jsonl"),
        b"",
    )
    .unwrap();
    grey(&root, "train/runs/20260101-000000/accuracy.png", 4, 5);
    fs::write(root.join("train/runs/20260101-000000/summary.json"), b"{}").unwrap();
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!(ds.classes, vec!["a", "b"]);
    assert_eq!(ds.unlabeled.len(), 1);
    assert_eq!(ds.warnings.len(), 2, "{:?}", ds.warnings);
    assert!(ds.warnings.iter().any(|w| w.contains("train/runs")));
    assert!(
        ds.warnings
            .iter()
            .any(|w| w.contains("unlabeled/runs/20260101-000000") && w.contains("left out"))
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_minority_that_decides_the_shape_is_named_in_a_warning() {
    let root = temp_root("odd-shape");
    for i in 0..3 {
        grey(&root, &format!("train/a/{i}.png"), 8, 1);
        grey(&root, &format!("train/b/{i}.png"), 8, 2);
    }
    grey(&root, "unlabeled/tiny.png", 1, 3);
    rgb(&root, "unlabeled/red.png", 8, [200, 0, 0]);
    let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
    assert_eq!((ds.shape.channels, ds.shape.height), (3, 32));
    assert_eq!(ds.warnings.len(), 2, "{:?}", ds.warnings);
    assert!(
        ds.warnings[0].contains("unlabeled/tiny.png (1x1)"),
        "{:?}",
        ds.warnings
    );
    assert!(
        ds.warnings[1].contains("unlabeled/red.png"),
        "{:?}",
        ds.warnings
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_plan_is_checked_before_decoding() {
    let root = temp_root("plan");
    basic(&root);
    let mut seen = None;
    let e = load_dataset_checked(&DatasetOptions::new(&root), |plan| {
        seen = Some(*plan);
        Err(DataError::BadChannels(7))
    })
    .unwrap_err();
    assert!(matches!(e, DataError::BadChannels(7)));
    let plan = seen.unwrap();
    assert_eq!(
        (plan.train, plan.val, plan.test, plan.unlabeled),
        (4, 0, 2, 4)
    );
    assert_eq!((plan.classes, plan.images()), (3, 10));
    assert_eq!(plan.shape.len(), 64);
    fs::remove_dir_all(&root).unwrap();
}

/// A 16×8 JPEG, black on the left half and white on the right, whose EXIF says "turn 90°
/// clockwise to view" (orientation 6, what a phone writes for a portrait photo).
fn sideways_jpeg(path: &Path) {
    use image::ImageEncoder;
    use image::codecs::jpeg::JpegEncoder;
    let img = GrayImage::from_fn(16, 8, |x, _| Luma([if x < 8 { 0 } else { 255 }]));
    // Little-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1 value: 6.
    let exif = vec![
        b'I', b'I', 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 95);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(img.as_raw(), 16, 8, image::ExtendedColorType::L8)
        .unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn photos_are_turned_upright_by_their_exif_orientation() {
    let root = temp_root("exif");
    let path = root.join("portrait.jpg");
    sideways_jpeg(&path);
    assert_eq!(
        decode::file_dimensions(&path).ok(),
        Some((16, 8)),
        "height, width"
    );
    let img = decode::decode_file(&path).ok().unwrap();
    assert_eq!((img.width(), img.height()), (8, 16));
    let grey = img.to_luma8();
    // Turned clockwise, the black left half is now on top.
    assert!(grey.get_pixel(4, 2)[0] < 40, "{:?}", grey.get_pixel(4, 2));
    assert!(
        grey.get_pixel(4, 13)[0] > 215,
        "{:?}",
        grey.get_pixel(4, 13)
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn crop_keeps_the_centre_undistorted_and_stretch_keeps_everything() {
    // 40×20, black bands on the outer quarters of the width, white in the middle half.
    let img = image::DynamicImage::ImageLuma8(GrayImage::from_fn(40, 20, |x, _| {
        Luma([if (10..30).contains(&x) { 255 } else { 0 }])
    }));
    let shape = ImageShape {
        channels: 1,
        height: 10,
        width: 10,
    };
    // Crop: scaled to 20×10 (the shorter side to 10), the middle 10 columns kept: all white.
    let crop = decode::to_chw(&img, shape, ResizePolicy::Crop);
    assert_eq!(crop.len(), 100);
    assert!(crop.iter().all(|&p| p > 200), "{crop:?}");
    // Stretch: the whole width squeezed in, black bands at both edges.
    let stretch = decode::to_chw(&img, shape, ResizePolicy::Stretch);
    assert!(
        stretch[0] < 60 && stretch[9] < 60 && stretch[5] > 240,
        "{stretch:?}"
    );
    // Colour: a grey image becomes three equal planes; a tall image keeps its middle rows.
    let tall = image::DynamicImage::ImageLuma8(GrayImage::from_fn(10, 30, |_, y| {
        Luma([if (10..20).contains(&y) { 200 } else { 0 }])
    }));
    let rgb = ImageShape {
        channels: 3,
        height: 10,
        width: 10,
    };
    let px = decode::to_chw(&tall, rgb, ResizePolicy::Crop);
    assert_eq!(px.len(), 300);
    assert!(px.iter().all(|&p| p == 200), "{px:?}");
}
