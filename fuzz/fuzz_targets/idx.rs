//! The IDX readers on arbitrary bytes (raw, or gzip when they start with 1f 8b): every input
//! is either parsed consistently with its header or refused with an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selftrain::data::idx::{parse_idx_images, parse_idx_labels};

fuzz_target!(|data: &[u8]| {
    if let Ok(images) = parse_idx_images(data) {
        assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
        if images.count > 0 {
            let last = images.image(images.count - 1);
            assert_eq!(last.len(), images.rows * images.cols);
        }
    }
    let _ = parse_idx_labels(data);
});
