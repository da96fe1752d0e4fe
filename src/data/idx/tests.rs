//! Unit tests of IDX reading and import.

use super::*;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "selftrain-idx-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn images_bytes(count: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    for v in [count, rows, cols] {
        b.extend_from_slice(&(v as u32).to_be_bytes());
    }
    b.extend((0..count * rows * cols).map(|i| (i % 256) as u8));
    b
}

fn labels_bytes(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn parses_raw_and_gzip() {
    let raw = images_bytes(3, 2, 4);
    let a = parse_idx_images(&raw).unwrap();
    assert_eq!((a.count, a.rows, a.cols), (3, 2, 4));
    assert_eq!(a.pixels.len(), 24);
    assert_eq!(a.image(1), &raw[16 + 8..16 + 16]);
    assert_eq!(parse_idx_images(&gzip(&raw)).unwrap(), a);
    let l = labels_bytes(&[1, 2, 0]);
    assert_eq!(parse_idx_labels(&l).unwrap(), vec![1, 2, 0]);
    assert_eq!(parse_idx_labels(&gzip(&l)).unwrap(), vec![1, 2, 0]);
}

#[test]
fn wrong_magic_and_truncation() {
    let l = labels_bytes(&[1, 2]);
    let e = parse_idx_images(&l).unwrap_err().to_string();
    assert!(e.contains("label file"), "{e}");
    let e = parse_idx_labels(&images_bytes(1, 2, 2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("0x00000801"), "{e}");
    let mut raw = images_bytes(3, 2, 4);
    raw.truncate(raw.len() - 1);
    let e = parse_idx_images(&raw).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    let mut l = labels_bytes(&[1, 2]);
    l.push(0);
    assert!(
        parse_idx_labels(&l)
            .unwrap_err()
            .to_string()
            .contains("oversized")
    );
    assert!(parse_idx_labels(&[0, 0]).is_err());
    assert!(parse_idx_images(&[0x1f, 0x8b, 1, 2, 3]).is_err());
}

#[test]
fn read_errors_name_the_file() {
    let dir = temp_dir("read");
    let p = dir.join("bad-labels.gz");
    fs::write(&p, gzip(&images_bytes(1, 1, 1))).unwrap();
    let e = read_idx_labels(&p).unwrap_err().to_string();
    assert!(e.contains("bad-labels.gz"), "{e}");
    let e = read_idx_images(&dir.join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

/// 3 classes with 4, 4 and 5 training images; the test split has 2 per class.
fn write_synthetic(dir: &Path) -> ImportOptions {
    // Labels i % 3 for i in 0..15, less indices 0 (class 0) and 4 (class 1): sizes 4, 4, 5.
    let train_labels: Vec<u8> = (0..15u8)
        .filter(|&i| i != 0 && i != 4)
        .map(|i| i % 3)
        .collect();
    let test_labels = [0u8, 1, 2, 2, 1, 0];
    fs::write(
        dir.join("ti"),
        gzip(&images_bytes(train_labels.len(), 3, 2)),
    )
    .unwrap();
    fs::write(dir.join("tl"), labels_bytes(&train_labels)).unwrap();
    fs::write(dir.join("vi"), images_bytes(test_labels.len(), 3, 2)).unwrap();
    fs::write(dir.join("vl"), gzip(&labels_bytes(&test_labels))).unwrap();
    ImportOptions {
        images: dir.join("ti"),
        labels: dir.join("tl"),
        test_images: Some(dir.join("vi")),
        test_labels: Some(dir.join("vl")),
        out: dir.join("out"),
        labels_per_class: 2,
        unlabeled_per_class: None,
        test_per_class: None,
        imbalance_ratio: 1.0,
        seed: 5,
        class_names: None,
    }
}

fn pngs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn import_counts_and_distinct_files() {
    let dir = temp_dir("import");
    let opts = write_synthetic(&dir);
    let report = import_idx(&opts).unwrap();
    assert_eq!(report.classes, vec!["0", "1", "2"]);
    // Class sizes 4, 4, 5 -> 2 labelled each, 2 + 2 + 3 unlabelled.
    assert_eq!((report.train, report.unlabeled, report.test), (6, 7, 6));
    let out = &opts.out;
    for (c, unl) in [("0", 2), ("1", 2), ("2", 3)] {
        let t = pngs(&out.join("train").join(c));
        let u = pngs(&out.join("unlabeled").join(c));
        assert_eq!(t.len(), 2);
        assert_eq!(u.len(), unl);
        assert!(t.iter().all(|f| !u.contains(f)), "{t:?} vs {u:?}");
        assert!(
            t.iter()
                .all(|f| f.starts_with("train-") && f.ends_with(".png"))
        );
        assert_eq!(pngs(&out.join("test").join(c)).len(), 2);
    }
    // Pixels round-trip: every written train file holds the IDX image of its index.
    let images = read_idx_images(&opts.images).unwrap();
    let f = &pngs(&out.join("train").join("2"))[0];
    let index: usize = f["train-".len()..f.len() - 4].parse().unwrap();
    let img = image::open(out.join("train").join("2").join(f))
        .unwrap()
        .to_luma8();
    assert_eq!(img.dimensions(), (2, 3));
    assert_eq!(img.as_raw().as_slice(), images.image(index));

    // Same seed, same choice; existing output refused.
    let e = import_idx(&opts).unwrap_err();
    assert!(matches!(e, IdxError::OutputExists(_)), "{e}");
    let mut again = opts.clone();
    again.out = dir.join("out2");
    import_idx(&again).unwrap();
    assert_eq!(
        pngs(&out.join("train").join("1")),
        pngs(&again.out.join("train").join("1"))
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_caps_names_and_errors() {
    let dir = temp_dir("caps");
    let mut opts = write_synthetic(&dir);
    opts.unlabeled_per_class = Some(1);
    opts.test_per_class = Some(1);
    opts.class_names = Some(vec!["0-a".into(), "1-b".into(), "2-c".into()]);
    let r = import_idx(&opts).unwrap();
    assert_eq!((r.train, r.unlabeled, r.test), (6, 3, 3));
    assert_eq!(pngs(&opts.out.join("unlabeled").join("2-c")).len(), 1);

    let mut bad = opts.clone();
    bad.out = dir.join("o2");
    bad.class_names = Some(vec!["b".into(), "a".into(), "c".into()]);
    assert!(import_idx(&bad).unwrap_err().to_string().contains("sort"));
    bad.class_names = Some(vec!["a".into(), "b".into()]);
    assert!(matches!(import_idx(&bad), Err(IdxError::Options(_))));
    bad.class_names = None;
    bad.labels_per_class = 5;
    let e = import_idx(&bad).unwrap_err().to_string();
    assert!(e.contains("class 0") && e.contains("fewer"), "{e}");

    // Count mismatch names both files.
    bad.labels_per_class = 1;
    fs::write(dir.join("short"), labels_bytes(&[0, 1])).unwrap();
    bad.labels = dir.join("short");
    let e = import_idx(&bad).unwrap_err().to_string();
    assert!(e.contains("short") && e.contains("ti"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_out_of_range_label_is_named_with_its_file_and_sample() {
    let dir = temp_dir("range");
    let mut opts = write_synthetic(&dir);
    // Labels 0..=2, and one stray 200 at sample 7.
    let mut train_labels: Vec<u8> = (0..13u8).map(|i| i % 3).collect();
    train_labels[7] = 200;
    fs::write(dir.join("tl"), labels_bytes(&train_labels)).unwrap();
    let e = import_idx(&opts).unwrap_err();
    assert!(matches!(e, IdxError::LabelOutOfRange { .. }), "{e}");
    let e = e.to_string();
    assert!(e.contains("label 200 of sample 7"), "{e}");
    assert!(e.contains("tl") && e.contains("0 to 2"), "{e}");
    assert!(!e.contains("only 0 samples"), "{e}");

    // A test label that no training sample has.
    train_labels[7] = 1;
    fs::write(dir.join("tl"), labels_bytes(&train_labels)).unwrap();
    fs::write(dir.join("vl"), labels_bytes(&[0, 1, 2, 3, 1, 0])).unwrap();
    let e = import_idx(&opts).unwrap_err().to_string();
    assert!(e.contains("vl") && e.contains("label 3 of sample 3"), "{e}");

    // Labels starting at 1.
    let one_based: Vec<u8> = (0..13u8).map(|i| i % 3 + 1).collect();
    fs::write(dir.join("tl"), labels_bytes(&one_based)).unwrap();
    fs::write(dir.join("vl"), labels_bytes(&[1, 2, 3, 3, 2, 1])).unwrap();
    let e = import_idx(&opts).unwrap_err().to_string();
    assert!(
        e.contains("label 1 of sample 0") && e.contains("label 0"),
        "{e}"
    );

    // With class names: a label past the names is named too.
    fs::write(dir.join("tl"), labels_bytes(&train_labels)).unwrap();
    fs::write(dir.join("vl"), labels_bytes(&[0, 1, 2, 2, 1, 0])).unwrap();
    opts.class_names = Some(vec!["0-a".into(), "1-b".into()]);
    let e = import_idx(&opts).unwrap_err();
    assert!(matches!(e, IdxError::Options(_)), "{e}");
    assert!(e.to_string().contains("label 2 of sample 2"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_tail_counts_fall_exponentially_from_the_first_class_to_the_last() {
    let counts: Vec<usize> = (0..10)
        .map(|c| long_tail_count(1000, c, 10, 10.0))
        .collect();
    assert_eq!(counts[0], 1000);
    assert_eq!(counts[9], 100);
    assert!(counts.windows(2).all(|w| w[0] > w[1]), "{counts:?}");
    // The middle class of three sits at the geometric mean: 1000 × 100^(−1/2).
    assert_eq!(long_tail_count(1000, 1, 3, 100.0), 100);
    // Balanced, one class, or a count of zero are left alone; a count never drops to 0.
    assert_eq!(long_tail_count(40, 9, 10, 1.0), 40);
    assert_eq!(long_tail_count(40, 0, 1, 10.0), 40);
    assert_eq!(long_tail_count(0, 9, 10, 10.0), 0);
    assert_eq!(long_tail_count(3, 9, 10, 100.0), 1);
}

#[test]
fn an_imbalanced_import_shrinks_labelled_and_pool_per_class_and_keeps_the_test_split() {
    let dir = temp_dir("longtail");
    let mut opts = write_synthetic(&dir);
    // Classes of 4, 4 and 5 training images; ratio 2 over three classes keeps 1, 1/√2, 1/2.
    opts.imbalance_ratio = 2.0;
    let r = import_idx(&opts).unwrap();
    let count = |split: &str, c: &str| pngs(&opts.out.join(split).join(c)).len();
    assert_eq!(
        [
            count("train", "0"),
            count("train", "1"),
            count("train", "2")
        ],
        [2, 1, 1]
    );
    assert_eq!(
        [
            count("unlabeled", "0"),
            count("unlabeled", "1"),
            count("unlabeled", "2")
        ],
        [2, 2, 2]
    );
    assert_eq!((r.train, r.unlabeled, r.test), (4, 6, 6));
    let mut bad = opts.clone();
    bad.out = dir.join("o2");
    bad.imbalance_ratio = 0.5;
    let e = import_idx(&bad).unwrap_err().to_string();
    assert!(e.contains("imbalance ratio"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}
