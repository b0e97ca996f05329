//! Single images from PNG files, for `predict` on a user's own pictures.

use crate::error::{Error, Result};
use std::path::Path;

/// An 8-bit image, rows top to bottom, channels interleaved (1 = gray, 3 = RGB).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Reads a PNG of any colour type and bit depth as 8-bit gray or RGB: palettes are expanded,
/// 16-bit samples keep their high byte, and alpha is dropped.
pub fn read_png(path: &Path) -> Result<Image> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let bad = |e: png::DecodingError| Error::format(path, format!("not a readable PNG: {e}"));
    let mut reader = decoder.read_info().map_err(bad)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(frame.buffer_size());
    let (width, height) = (frame.width as usize, frame.height as usize);
    let stored = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(Error::format(path, "palette PNG was not expanded to RGB"))
        }
    };
    if frame.bit_depth != png::BitDepth::Eight || buf.len() != width * height * stored {
        return Err(Error::format(
            path,
            format!(
                "unexpected PNG layout: {width}x{height}, {stored} channel(s) at {:?}",
                frame.bit_depth
            ),
        ));
    }
    let channels = if stored <= 2 { 1 } else { 3 };
    let pixels = if stored == channels {
        buf
    } else {
        buf.chunks_exact(stored)
            .flat_map(|px| px[..channels].iter().copied())
            .collect()
    };
    Ok(Image {
        width,
        height,
        channels,
        pixels,
    })
}

impl Image {
    /// The image with `channels` channels: gray is repeated into RGB, and RGB becomes gray by
    /// ITU-R 601 luma (L = 0.299 R + 0.587 G + 0.114 B, as PIL's `convert("L")`).
    pub fn with_channels(&self, channels: usize) -> Result<Image> {
        let pixels = match (self.channels, channels) {
            (a, b) if a == b => self.pixels.clone(),
            (1, 3) => self.pixels.iter().flat_map(|&g| [g, g, g]).collect(),
            (3, 1) => self
                .pixels
                .chunks_exact(3)
                .map(|p| {
                    let l = (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000;
                    l as u8
                })
                .collect(),
            (a, b) => {
                return Err(Error::invalid(format!(
                    "cannot turn a {a}-channel image into {b} channels"
                )))
            }
        };
        Ok(Image {
            channels,
            pixels,
            ..*self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, color: png::ColorType, data: &[u8]) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(file, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(data).unwrap();
    }

    #[test]
    fn reads_gray_rgb_and_rgba_and_converts_channels() {
        let dir = tempfile::tempdir().unwrap();
        let gray = dir.path().join("g.png");
        write_png(&gray, 2, 1, png::ColorType::Grayscale, &[10, 200]);
        let img = read_png(&gray).unwrap();
        assert_eq!((img.width, img.height, img.channels), (2, 1, 1));
        assert_eq!(img.pixels, vec![10, 200]);
        assert_eq!(
            img.with_channels(3).unwrap().pixels,
            vec![10, 10, 10, 200, 200, 200]
        );

        let rgba = dir.path().join("c.png");
        write_png(&rgba, 1, 1, png::ColorType::Rgba, &[255, 0, 0, 7]);
        let img = read_png(&rgba).unwrap();
        assert_eq!((img.channels, img.pixels.clone()), (3, vec![255, 0, 0]));
        assert_eq!(img.with_channels(1).unwrap().pixels, vec![76]); // PIL: 76
    }

    #[test]
    fn a_truncated_png_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        write_png(&path, 4, 4, png::ColorType::Grayscale, &[1; 16]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_png(&path).unwrap_err().to_string();
        assert!(err.contains("bad.png") && err.contains("PNG"), "{err}");
    }
}
