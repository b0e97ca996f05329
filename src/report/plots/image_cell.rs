//! Images as stored (u8, row-major height x width x channels) and drawing one of them,
//! shared by the prediction and sample grids.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// A batch of images kept as stored: `u8` pixels, image after image, each `height x width x
/// channels` (channels 1 = grayscale, 3 = RGB), the NHWC layout the data module keeps.
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    data: &'a [u8],
    height: usize,
    width: usize,
    channels: usize,
}

impl<'a> Images<'a> {
    /// Checks the sizes up front so drawing never indexes out of bounds.
    pub fn new(data: &'a [u8], height: usize, width: usize, channels: usize) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::invalid(format!(
                "images must have 1 (grayscale) or 3 (RGB) channels, got {channels}"
            )));
        }
        let per_image = height * width * channels;
        if per_image == 0 || !data.len().is_multiple_of(per_image) {
            return Err(Error::invalid(format!(
                "{} bytes do not split into {height}x{width}x{channels} images",
                data.len()
            )));
        }
        Ok(Images {
            data,
            height,
            width,
            channels,
        })
    }

    pub fn len(&self) -> usize {
        self.data.len() / (self.height * self.width * self.channels)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn pixel(&self, image: usize, row: usize, col: usize) -> RGBColor {
        let i = ((image * self.height + row) * self.width + col) * self.channels;
        if self.channels == 1 {
            let v = self.data[i];
            RGBColor(v, v, v)
        } else {
            RGBColor(self.data[i], self.data[i + 1], self.data[i + 2])
        }
    }

    /// An integer upscale factor that makes the image about `target` pixels on its long side.
    pub(crate) fn scale_for(&self, target: usize) -> usize {
        (target / self.height.max(self.width)).max(1)
    }

    /// Draws image `index` with its top-left corner at `(x, y)`, each pixel a `scale x scale`
    /// square. Runs of equal pixels in a row become one rectangle, which keeps the SVG small.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        index: usize,
        (x, y): (i32, i32),
        scale: usize,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let s = scale as i32;
        for row in 0..self.height {
            let mut start = 0;
            while start < self.width {
                let color = self.pixel(index, row, start);
                let mut end = start + 1;
                while end < self.width && self.pixel(index, row, end) == color {
                    end += 1;
                }
                let top = y + row as i32 * s;
                area.draw(&Rectangle::new(
                    [(x + start as i32 * s, top), (x + end as i32 * s, top + s)],
                    color.filled(),
                ))?;
                start = end;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert_eq!(Images::new(&[0; 28 * 28 * 3], 28, 28, 1).unwrap().len(), 3);
        assert!(Images::new(&[0; 10], 28, 28, 1).is_err());
        assert!(Images::new(&[0; 16], 2, 2, 4).is_err());
        assert!(Images::new(&[0; 12], 2, 2, 3).unwrap().len() == 1);
    }
}
