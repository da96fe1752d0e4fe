//! A user's own colour photos, end to end through the binary: a folder of JPEG and PNG photos
//! of mixed sizes (coloured shapes on textured backgrounds, written here) trains a ResNet at
//! a chosen input size with per-channel normalisation, random resized crops and colour jitter,
//! and `predict` labels a new photo.

mod common;

use std::path::Path;

use common::*;
use image::{ImageFormat, Rgb, RgbImage};

const CLASSES: [&str; 3] = ["red-disc", "green-square", "blue-ring"];

/// A `w`×`h` photo of class `class`: a textured background (stripes and noise from `seed`)
/// with the class's shape, in its colour, somewhere near the centre.
fn photo(class: usize, w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let (cx, cy) = (
        w as f32 / 2.0 + (next() % 9) as f32 - 4.0,
        h as f32 / 2.0 + (next() % 9) as f32 - 4.0,
    );
    let r = w.min(h) as f32 * (0.25 + (next() % 10) as f32 / 100.0);
    let stripe = 3 + next() % 5;
    let base = (60 + next() % 80) as u8;
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let v = if (x + y) / stripe % 2 == 0 {
            base
        } else {
            base / 2
        };
        Rgb([v, v.saturating_add(10), v])
    });
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = (dx * dx + dy * dy).sqrt();
        let inside = match class {
            0 => d < r,
            1 => dx.abs() < r * 0.85 && dy.abs() < r * 0.85,
            _ => d < r && d > r * 0.55,
        };
        if inside {
            let n = (next() % 40) as u8;
            *p = match class {
                0 => Rgb([215 + n, 30 + n, 30]),
                1 => Rgb([30, 190 + n, 40 + n]),
                _ => Rgb([30 + n, 50, 200 + n]),
            };
        }
    }
    img
}

fn write_photos(root: &Path, split: &str, per_class: u32, seed0: u32) {
    const SIZES: [(u32, u32); 4] = [(48, 40), (64, 64), (50, 70), (90, 60)];
    for (c, name) in CLASSES.iter().enumerate() {
        let dir = root.join(split).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let (w, h) = SIZES[(i as usize + c) % SIZES.len()];
            let img = photo(c, w, h, seed0 + 100 * c as u32 + i);
            let (ext, format) = if i % 2 == 0 {
                ("jpg", ImageFormat::Jpeg)
            } else {
                ("png", ImageFormat::Png)
            };
            img.save_with_format(dir.join(format!("{i}.{ext}")), format)
                .unwrap();
        }
    }
}

#[test]
fn a_folder_of_colour_photos_trains_a_resnet_and_predict_labels_a_new_one() {
    let dir = temp_dir("colour-photos");
    let root = dir.join("photos");
    write_photos(&root, "train", 16, 0);
    write_photos(&root, "unlabeled", 10, 1000);
    write_photos(&root, "test", 6, 2000);
    let runs = dir.join("runs");
    let out = bin()
        .args(["train", "--headless", "--data"])
        .arg(&root)
        .arg("--runs-dir")
        .arg(&runs)
        .args([
            "--model",
            "resnet8",
            "--image-size",
            "32x32",
            "--normalize",
            "data",
            "--hflip",
            "true",
            "--crop-scale",
            "0.5",
            "--colour-jitter",
            "0.3",
            "--batch-size",
            "16",
            "--warmup-epochs",
            "20",
            "--epochs-per-round",
            "2",
            "--rounds",
            "1",
            "--seed",
            "0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let run = only_run_dir(&runs);

    let model = read_json(&run.join("model.json"));
    assert_eq!(model["shape"]["channels"], 3, "{model}");
    assert_eq!(model["shape"]["height"], 32);
    assert_eq!(model["resize"], "crop");
    assert_eq!(model["model"]["kind"], "resnet8");
    let mean = model["model"]["input_mean"].as_array().unwrap();
    assert_eq!(mean.len(), 3, "one mean per channel: {model}");
    assert!(
        mean.iter()
            .all(|m| (0.05..0.95).contains(&m.as_f64().unwrap()))
    );

    let summary = read_json(&run.join("summary.json"));
    let acc = summary["best_test"]["accuracy"].as_f64().unwrap();
    eprintln!("colour photos: best test accuracy {acc}");
    assert!(
        acc > 0.6,
        "colour shapes are easy: test accuracy {acc}: {summary}"
    );

    // A new photo of each class, of a size none of the training photos had.
    for (c, name) in CLASSES.iter().enumerate() {
        let file = dir.join(format!("new-{name}.jpg"));
        photo(c, 120, 80, 9000 + c as u32)
            .save_with_format(&file, ImageFormat::Jpeg)
            .unwrap();
        let out = bin()
            .args(["predict", "--model"])
            .arg(&run)
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let row = stdout.lines().find(|l| l.contains("new-")).unwrap();
        assert!(row.contains(name), "{name}: {stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
