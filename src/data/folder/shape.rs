//! Choosing the input shape of a run from the images themselves, and saying which images
//! decided it when they disagree.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{AUTO_SIZE_SIDES, DEFAULT_SIZE};
use crate::data::image_set::ImageShape;

/// How many deciding images a warning names.
const NAMED: usize = 5;

/// What pass 1 learned about one image (path relative to the data root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probed {
    pub path: PathBuf,
    /// `(height, width)`.
    pub size: (usize, usize),
    /// Whether it has colour (only looked at when the channels are automatic).
    pub colour: bool,
}

/// The shape every image is converted to, and warnings when a minority of images decided it.
///
/// Size: the images' own size when they all agree and both sides are within
/// [`AUTO_SIZE_SIDES`], else [`DEFAULT_SIZE`]; channels: 3 when any image has colour, else 1.
/// Explicit `channels` and `size` win.
pub(super) fn choose_shape(
    channels: Option<usize>,
    size: Option<(usize, usize)>,
    probes: &[Probed],
) -> (ImageShape, Vec<String>) {
    let mut warnings = Vec::new();
    let mut by_size: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for p in probes {
        *by_size.entry(p.size).or_default() += 1;
    }
    let data_size = match by_size.keys().collect::<Vec<_>>().as_slice() {
        [(h, w)] if AUTO_SIZE_SIDES.contains(h) && AUTO_SIZE_SIDES.contains(w) => (*h, *w),
        _ => DEFAULT_SIZE,
    };
    if size.is_none() {
        warnings.extend(size_warning(&by_size, probes));
    }
    let colour = probes.iter().any(|p| p.colour);
    if channels.is_none() {
        warnings.extend(colour_warning(probes));
    }
    let (height, width) = size.unwrap_or(data_size);
    let shape = ImageShape {
        channels: channels.unwrap_or(if colour { 3 } else { 1 }),
        height,
        width,
    };
    (shape, warnings)
}

fn list(paths: &[String]) -> String {
    let mut out = paths
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > NAMED {
        out.push_str(&format!(" and {} more", paths.len() - NAMED));
    }
    out
}

/// Why the automatic size is not the images' own size, naming the odd images.
fn size_warning(by_size: &BTreeMap<(usize, usize), usize>, probes: &[Probed]) -> Option<String> {
    let (dh, dw) = DEFAULT_SIZE;
    match by_size.len() {
        0 => None,
        1 => {
            let (&(h, w), _) = by_size.iter().next()?;
            let fits = AUTO_SIZE_SIDES.contains(&h) && AUTO_SIZE_SIDES.contains(&w);
            (!fits).then(|| {
                format!(
                    "every image is {h}x{w}, outside the automatic range of sides {}..={}: all \
                     are resized to {dh}x{dw}; pass --image-size to choose the size",
                    AUTO_SIZE_SIDES.start(),
                    AUTO_SIZE_SIDES.end()
                )
            })
        }
        _ => {
            // The most common size (the larger one on a tie); the others decided the resize.
            let (&common, &count) = by_size.iter().max_by_key(|(s, c)| (**c, **s))?;
            let odd: Vec<String> = probes
                .iter()
                .filter(|p| p.size != common)
                .map(|p| format!("{} ({}x{})", p.path.display(), p.size.0, p.size.1))
                .collect();
            Some(format!(
                "images differ in size, so all are resized to {dh}x{dw}: {count} are {}x{}, \
                 {} not: {}; pass --image-size to choose the size",
                common.0,
                common.1,
                odd.len(),
                list(&odd)
            ))
        }
    }
}

/// A warning when a minority of colour images turns a grey dataset into RGB, naming them.
fn colour_warning(probes: &[Probed]) -> Option<String> {
    let colour: Vec<String> = probes
        .iter()
        .filter(|p| p.colour)
        .map(|p| p.path.display().to_string())
        .collect();
    let grey = probes.len() - colour.len();
    (!colour.is_empty() && colour.len() < grey).then(|| {
        format!(
            "{} of {} images have colour, so all are loaded as RGB (3 channels): {}; pass \
             --channels 1 to load them grey",
            colour.len(),
            probes.len(),
            list(&colour)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(path: &str, size: (usize, usize), colour: bool) -> Probed {
        Probed {
            path: PathBuf::from(path),
            size,
            colour,
        }
    }

    #[test]
    fn one_odd_image_is_named_when_it_decides_the_size() {
        let mut probes: Vec<Probed> = (0..9)
            .map(|i| probe(&format!("train/a/{i}.png"), (28, 28), false))
            .collect();
        probes.push(probe("train/b/tiny.png", (1, 1), false));
        let (shape, warnings) = choose_shape(None, None, &probes);
        assert_eq!((shape.channels, shape.height, shape.width), (1, 32, 32));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("train/b/tiny.png (1x1)"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("9 are 28x28"), "{warnings:?}");
        // An explicit size: nothing to warn about.
        let (shape, warnings) = choose_shape(None, Some((28, 28)), &probes);
        assert_eq!((shape.height, shape.width), (28, 28));
        assert!(warnings.is_empty());
    }

    #[test]
    fn one_colour_image_among_grey_ones_is_named() {
        let mut probes: Vec<Probed> = (0..4)
            .map(|i| probe(&format!("train/a/{i}.png"), (8, 8), false))
            .collect();
        probes.push(probe("unlabeled/red.png", (8, 8), true));
        let (shape, warnings) = choose_shape(None, None, &probes);
        assert_eq!((shape.channels, shape.height, shape.width), (3, 8, 8));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("1 of 5"), "{warnings:?}");
        assert!(warnings[0].contains("unlabeled/red.png"), "{warnings:?}");
        assert!(choose_shape(Some(3), None, &probes).1.is_empty());
    }

    #[test]
    fn agreeing_images_give_no_warning() {
        let probes: Vec<Probed> = (0..3)
            .map(|i| probe(&format!("{i}.png"), (28, 28), i == 0))
            .chain([
                probe("x.png", (28, 28), true),
                probe("y.png", (28, 28), true),
            ])
            .collect();
        let (shape, warnings) = choose_shape(None, None, &probes);
        assert_eq!((shape.channels, shape.height, shape.width), (3, 28, 28));
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<Probed> = (0..7)
            .map(|i| probe(&format!("{i}.png"), (i + 28, 28), false))
            .collect();
        let (_, warnings) = choose_shape(None, None, &names);
        assert!(warnings[0].contains("and 1 more"), "{warnings:?}");
    }
}
