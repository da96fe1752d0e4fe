//! The image loader on arbitrary bytes. The first byte picks the file extension (formats without
//! magic bytes, such as TGA, are only tried by extension) and the target shape; the rest is
//! written to a file and decoded with `decode_image_file`, which must return pixels of exactly
//! that shape or an error.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use selftrain::data::{ImageShape, decode_image_file};

const EXTENSIONS: [&str; 16] = [
    "png", "jpg", "gif", "bmp", "ico", "tiff", "webp", "pnm", "tga", "dds", "hdr", "exr", "ff",
    "qoi", "avif", "bin",
];

/// A scratch folder of this process (in memory where /dev/shm exists).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() { base } else { std::env::temp_dir() };
        let dir = base.join(format!("selftrain-fuzz-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let ext = EXTENSIONS[(selector & 0x0f) as usize];
    let shape = ImageShape {
        channels: if selector & 0x10 == 0 { 1 } else { 3 },
        height: if selector & 0x20 == 0 { 8 } else { 5 },
        width: if selector & 0x40 == 0 { 8 } else { 13 },
    };
    let path = scratch().join(format!("input.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    if let Ok(pixels) = decode_image_file(&path, shape) {
        assert_eq!(pixels.len(), shape.len());
    }
    let _ = std::fs::remove_file(&path);
});
