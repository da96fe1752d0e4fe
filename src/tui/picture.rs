//! The inspector's picture through the terminal's own image protocol (kitty, sixel, iTerm2),
//! drawn with `ratatui-image` at the sample's resolution scaled by a whole factor, where the
//! terminal speaks one; half-blocks ([`crate::tui::images::halfblock`]) everywhere else.
//!
//! The terminal is asked once, after the alternate screen is entered and before the input
//! thread reads events (the answer arrives on stdin). `SELFTRAIN_IMAGES` overrides the answer:
//! `halfblocks`, `kitty`, `sixel`, `iterm2` or `auto` (the default). Inside tmux the default is
//! half-blocks: tmux passes image protocols through only with `allow-passthrough on`.

use image::{DynamicImage, RgbImage};
use ratatui::Frame;
use ratatui::layout::{Rect, Size};
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;
use ratatui_image::{Image, Resize};

use crate::data::ImageShape;
use crate::tui::images::pixel_rgb;

/// The longest side of a picture sent to the terminal, in pixels.
const MAX_SIDE: usize = 256;

/// The variable that chooses the picture protocol.
pub const PROTOCOL_VARIABLE: &str = "SELFTRAIN_IMAGES";

/// What `SELFTRAIN_IMAGES` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProtocolChoice {
    /// Ask the terminal (half-blocks inside tmux).
    Auto,
    /// Never use an image protocol.
    Halfblocks,
    /// This protocol, whatever the terminal answers.
    Forced(ProtocolType),
}

impl ProtocolChoice {
    /// What `SELFTRAIN_IMAGES` holds now.
    pub fn from_env() -> Result<Self, String> {
        Self::parse(std::env::var(PROTOCOL_VARIABLE).ok().as_deref())
    }

    /// Parses the variable's value; an unknown value is an error naming the variable.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(Self::Auto),
            Some("halfblocks") => Ok(Self::Halfblocks),
            Some("kitty") => Ok(Self::Forced(ProtocolType::Kitty)),
            Some("sixel") => Ok(Self::Forced(ProtocolType::Sixel)),
            Some("iterm2") => Ok(Self::Forced(ProtocolType::Iterm2)),
            Some(other) => Err(format!(
                "{PROTOCOL_VARIABLE}={other}: expected auto, halfblocks, kitty, sixel or iterm2"
            )),
        }
    }
}

/// Checks `SELFTRAIN_IMAGES` before the dashboard takes the terminal, so that a wrong value is
/// an error on a normal screen, before anything starts.
pub fn check_variable() -> anyhow::Result<()> {
    ProtocolChoice::from_env()
        .map(|_| ())
        .map_err(anyhow::Error::msg)
}

/// Draws pictures with a terminal image protocol, keeping the last encoded picture (encoding is
/// the costly part, and the same sample is drawn at every frame while it stays selected).
pub struct Graphics {
    picker: Picker,
    cached: Option<(PictureKey, Protocol)>,
}

impl std::fmt::Debug for Graphics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graphics")
            .field("protocol", &self.picker.protocol_type())
            .field("font_size", &self.picker.font_size())
            .finish_non_exhaustive()
    }
}

/// What an encoded picture depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PictureKey {
    sample: usize,
    area: Rect,
    grey: bool,
}

impl Graphics {
    /// Asks the terminal (see the module docs). `None` means half-blocks. Must run after the
    /// alternate screen is entered and before anything else reads stdin; the variable has been
    /// checked by [`check_variable`] before the dashboard started (a wrong value here means
    /// half-blocks).
    pub fn detect() -> Option<Self> {
        let choice = ProtocolChoice::from_env().ok()?;
        let in_tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
        match choice {
            ProtocolChoice::Halfblocks => None,
            ProtocolChoice::Auto if in_tmux => None,
            ProtocolChoice::Auto => Picker::from_query_stdio()
                .ok()
                .filter(|p| p.protocol_type() != ProtocolType::Halfblocks)
                .map(Self::with_picker),
            ProtocolChoice::Forced(protocol) => {
                let mut picker =
                    Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks());
                picker.set_protocol_type(protocol);
                Some(Self::with_picker(picker))
            }
        }
    }

    /// Pictures drawn by `picker` (tests give one with a known font size and protocol).
    pub fn with_picker(picker: Picker) -> Self {
        Self {
            picker,
            cached: None,
        }
    }

    /// Draws sample `sample` (CHW `pixels` of `shape`) in the top of `area`, scaled up by the
    /// largest whole factor that fits (nearest neighbour: the model's own pixels stay visible).
    /// Returns the rows it takes, or `None` when it cannot be drawn (then the caller draws
    /// half-blocks).
    pub fn draw(
        &mut self,
        frame: &mut Frame,
        area: Rect,
        sample: usize,
        pixels: &[u8],
        shape: ImageShape,
        grey: bool,
    ) -> Option<u16> {
        if area.width == 0 || area.height == 0 || pixels.len() < shape.len() {
            return None;
        }
        let key = PictureKey { sample, area, grey };
        if self.cached.as_ref().map(|(k, _)| *k) != Some(key) {
            let font = self.picker.font_size();
            let fit_w = (area.width as usize * font.width.max(1) as usize) / shape.width.max(1);
            let fit_h = (area.height as usize * font.height.max(1) as usize) / shape.height.max(1);
            // At most MAX_SIDE pixels a side: the picture travels to the terminal as escape
            // codes whenever the selection changes.
            let cap = (MAX_SIDE / shape.width.max(shape.height).max(1)).max(1);
            let factor = fit_w.min(fit_h).min(cap).max(1) as u32;
            let picture = scaled_picture(pixels, shape, grey, factor);
            let protocol = self
                .picker
                .new_protocol(
                    picture,
                    Size::new(area.width, area.height),
                    Resize::Fit(None),
                )
                .ok()?;
            self.cached = Some((key, protocol));
        }
        let (_, protocol) = self.cached.as_ref()?;
        let used = protocol.size();
        let rect = Rect {
            height: used.height.min(area.height),
            width: used.width.min(area.width),
            ..area
        };
        frame.render_widget(Image::new(protocol), rect);
        Some(rect.height)
    }
}

/// A CHW `u8` image as an RGB picture, each pixel repeated `factor` times both ways.
fn scaled_picture(pixels: &[u8], shape: ImageShape, grey: bool, factor: u32) -> DynamicImage {
    let (w, h) = (shape.width as u32, shape.height as u32);
    let picture = RgbImage::from_fn(w * factor, h * factor, |x, y| {
        let (x, y) = ((x / factor) as usize, (y / factor) as usize);
        image::Rgb(pixel_rgb(pixels, shape, x, y, grey))
    });
    DynamicImage::ImageRgb8(picture)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    const SHAPE: ImageShape = ImageShape {
        channels: 3,
        height: 4,
        width: 6,
    };

    fn kitty() -> Graphics {
        // Half-blocks' picker has a 10×20-pixel cell.
        let mut picker = Picker::halfblocks();
        picker.set_protocol_type(ProtocolType::Kitty);
        Graphics::with_picker(picker)
    }

    #[test]
    fn the_variable_names_itself_when_wrong() {
        assert_eq!(ProtocolChoice::parse(None), Ok(ProtocolChoice::Auto));
        assert_eq!(
            ProtocolChoice::parse(Some("halfblocks")),
            Ok(ProtocolChoice::Halfblocks)
        );
        assert_eq!(
            ProtocolChoice::parse(Some("sixel")),
            Ok(ProtocolChoice::Forced(ProtocolType::Sixel))
        );
        let err = ProtocolChoice::parse(Some("png")).unwrap_err();
        assert!(
            err.contains("SELFTRAIN_IMAGES=png") && err.contains("kitty"),
            "{err}"
        );
    }

    #[test]
    fn pictures_are_scaled_by_a_whole_factor_keeping_each_pixel() {
        let mut pixels = vec![0u8; SHAPE.len()];
        pixels[0] = 255; // red plane, pixel (0, 0)
        let picture = scaled_picture(&pixels, SHAPE, false, 3).to_rgb8();
        assert_eq!(picture.dimensions(), (18, 12));
        assert_eq!(picture.get_pixel(2, 2).0, [255, 0, 0]);
        assert_eq!(picture.get_pixel(3, 0).0, [0, 0, 0]);
        let grey = scaled_picture(&pixels, SHAPE, true, 1).to_rgb8();
        assert_eq!(grey.get_pixel(0, 0).0, [76, 76, 76]);
    }

    #[test]
    fn a_kitty_terminal_gets_the_picture_as_escape_codes_within_the_area() {
        let mut graphics = kitty();
        let pixels = vec![128u8; SHAPE.len()];
        let mut terminal = Terminal::new(TestBackend::new(40, 12)).unwrap();
        let area = Rect::new(2, 1, 30, 8);
        let mut rows = None;
        terminal
            .draw(|f| rows = graphics.draw(f, area, 7, &pixels, SHAPE, false))
            .unwrap();
        // 6×4 pixels on 10×20-pixel cells: factor min(300/6, 160/4, 256/6) = 40 → 240×160
        // pixels, 24 columns and 8 rows.
        assert_eq!(rows, Some(8));
        let buffer = terminal.backend().buffer();
        let symbols: String = (area.y..area.y + area.height)
            .flat_map(|y| (area.x..area.x + area.width).map(move |x| (x, y)))
            .map(|(x, y)| buffer[(x, y)].symbol().to_string())
            .collect();
        assert!(symbols.contains("\x1b_G"), "kitty graphics escape expected");
        assert_eq!(
            buffer[(0, 0)].symbol(),
            " ",
            "nothing drawn outside the area"
        );
        // The same sample at the same place is not encoded again.
        let before = graphics.cached.as_ref().map(|(k, _)| *k);
        terminal
            .draw(|f| {
                graphics.draw(f, area, 7, &pixels, SHAPE, false);
            })
            .unwrap();
        assert_eq!(graphics.cached.as_ref().map(|(k, _)| *k), before);
    }
}
