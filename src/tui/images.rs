//! Pixels of the unlabelled pool and their drawing with half-block characters: each terminal
//! cell shows two pixels, the upper one as the foreground of `▀`, the lower one as background.

use std::collections::HashMap;
use std::sync::Arc;

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use crate::data::{ImageSet, ImageShape};
use crate::train::prepare::PreparedData;

/// Where the inspector finds the pixels of a pool sample.
#[derive(Debug, Clone)]
pub enum PoolImages {
    /// The trainer's own data: pool indices are exact.
    Prepared(Arc<PreparedData>),
    /// A pool loaded again from the data root (read-only mode): samples are found by file name.
    Loaded {
        /// The pool.
        set: Arc<ImageSet>,
        /// Pool index by file name (relative to the data root).
        by_file: HashMap<String, usize>,
    },
}

impl PoolImages {
    /// The trainer's data.
    pub fn live(data: Arc<PreparedData>) -> Self {
        Self::Prepared(data)
    }

    /// A pool loaded from the data root.
    pub fn loaded(set: ImageSet) -> Self {
        let by_file = set
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.display().to_string(), i))
            .collect();
        Self::Loaded {
            set: Arc::new(set),
            by_file,
        }
    }

    fn set(&self) -> &ImageSet {
        match self {
            Self::Prepared(d) => &d.pool,
            Self::Loaded { set, .. } => set,
        }
    }

    /// Shape of the images.
    pub fn shape(&self) -> ImageShape {
        self.set().shape
    }

    /// File name of pool sample `index` (only known exactly for the trainer's own data).
    pub fn file(&self, index: usize) -> Option<String> {
        match self {
            Self::Prepared(d) => d.pool.files.get(index).map(|f| f.display().to_string()),
            Self::Loaded { .. } => None,
        }
    }

    /// Pixels (CHW) of the sample with this pool index and file name.
    pub fn pixels(&self, index: usize, file: &str) -> Option<&[u8]> {
        match self {
            Self::Prepared(d) => (index < d.pool.len()).then(|| d.pool.image(index)),
            Self::Loaded { set, by_file } => by_file.get(file).map(|&i| set.image(i)),
        }
    }
}

/// Cell grid `(columns, rows)` an image of `shape` takes when scaled (nearest neighbour, at most
/// 2×) to fit `max_cols × max_rows` cells.
pub fn fitted_size(shape: ImageShape, max_cols: u16, max_rows: u16) -> (u16, u16) {
    if shape.width == 0 || shape.height == 0 || max_cols == 0 || max_rows == 0 {
        return (0, 0);
    }
    let sx = max_cols as f64 / shape.width as f64;
    let sy = (2 * max_rows as usize) as f64 / shape.height as f64;
    let s = sx.min(sy).min(2.0);
    let cols = ((shape.width as f64 * s).floor() as u16).clamp(1, max_cols);
    let px_rows = ((shape.height as f64 * s).floor() as usize).max(2);
    let rows = (px_rows.div_ceil(2) as u16).clamp(1, max_rows);
    (cols, rows)
}

/// The RGB of pixel `(x, y)` of a CHW image: grey images repeat their one channel, and `grey`
/// turns a colour pixel into its luma. Shared by the half-blocks and the protocol pictures.
pub fn pixel_rgb(pixels: &[u8], shape: ImageShape, x: usize, y: usize, grey: bool) -> [u8; 3] {
    let plane = shape.width * shape.height;
    let at = y * shape.width + x;
    if shape.channels >= 3 {
        let (r, g, b) = (pixels[at], pixels[plane + at], pixels[2 * plane + at]);
        if grey {
            let l = (0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64).round() as u8;
            [l, l, l]
        } else {
            [r, g, b]
        }
    } else {
        [pixels[at]; 3]
    }
}

/// The colour of pixel `(x, y)` of a CHW image.
fn colour(pixels: &[u8], shape: ImageShape, x: usize, y: usize, grey: bool) -> Color {
    let [r, g, b] = pixel_rgb(pixels, shape, x, y, grey);
    Color::Rgb(r, g, b)
}

/// The image as lines of `▀` cells fitting `max_cols × max_rows` (see [`fitted_size`]).
pub fn halfblock(
    pixels: &[u8],
    shape: ImageShape,
    max_cols: u16,
    max_rows: u16,
    grey: bool,
) -> Vec<Line<'static>> {
    let (cols, rows) = fitted_size(shape, max_cols, max_rows);
    if cols == 0 || pixels.len() < shape.len() {
        return Vec::new();
    }
    let px_rows = rows as usize * 2;
    let src_x = |x: usize| (x * shape.width / cols as usize).min(shape.width - 1);
    let src_y = |y: usize| (y * shape.height / px_rows).min(shape.height - 1);
    (0..rows as usize)
        .map(|r| {
            Line::from(
                (0..cols as usize)
                    .map(|c| {
                        let top = colour(pixels, shape, src_x(c), src_y(2 * r), grey);
                        let bottom = colour(pixels, shape, src_x(c), src_y(2 * r + 1), grey);
                        Span::styled("▀", Style::new().fg(top).bg(bottom))
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREY: ImageShape = ImageShape {
        channels: 1,
        height: 4,
        width: 2,
    };

    #[test]
    fn two_pixel_rows_per_cell_with_fg_on_top() {
        let px = [0, 10, 20, 30, 40, 50, 60, 70];
        let lines = halfblock(&px, GREY, 10, 10, false);
        assert_eq!(lines.len(), 4, "scaled 2x: 8 pixel rows, 4 cells high");
        let first = &lines[0].spans[0];
        assert_eq!(first.content, "▀");
        assert_eq!(first.style.fg, Some(Color::Rgb(0, 0, 0)));
        assert_eq!(first.style.bg, Some(Color::Rgb(0, 0, 0)));
        assert_eq!(lines[0].spans.len(), 4);
        let native = halfblock(&px, GREY, 2, 2, false);
        assert_eq!(native.len(), 2);
        assert_eq!(native[0].spans[1].style.fg, Some(Color::Rgb(10, 10, 10)));
        assert_eq!(native[0].spans[1].style.bg, Some(Color::Rgb(30, 30, 30)));
    }

    #[test]
    fn colour_images_can_be_drawn_grey() {
        let shape = ImageShape {
            channels: 3,
            height: 2,
            width: 1,
        };
        let px = [255, 255, 0, 0, 0, 0];
        let c = halfblock(&px, shape, 1, 1, false);
        assert_eq!(c[0].spans[0].style.fg, Some(Color::Rgb(255, 0, 0)));
        let g = halfblock(&px, shape, 1, 1, true);
        assert_eq!(g[0].spans[0].style.fg, Some(Color::Rgb(76, 76, 76)));
    }

    #[test]
    fn large_images_shrink_to_fit() {
        let shape = ImageShape {
            channels: 1,
            height: 28,
            width: 28,
        };
        assert_eq!(fitted_size(shape, 24, 12), (24, 12));
        assert_eq!(fitted_size(shape, 80, 40), (56, 28));
        assert_eq!(fitted_size(shape, 10, 40), (10, 5));
    }
}
