//! Sliding-window geometry shared by convolution and pooling (NHWC), with Keras's padding rules.
//!
//! `valid`: out = ⌊(in − k) / s⌋ + 1, no padding (trailing rows that do not fill a window are
//! dropped, e.g. 11 pooled by 2 gives 5).
//! `same`: out = ⌈in / s⌉, padded by max((out − 1)·s + k − in, 0) in all, the odd one at the
//! bottom/right, as TensorFlow does (PyTorch pads symmetrically, which differs when odd).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a window treats the border, by Keras's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    #[default]
    Valid,
    Same,
}

impl Padding {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            other => Err(Error::invalid(format!(
                "unknown padding '{other}' (expected valid or same)"
            ))),
        }
    }

    /// (output size, padding before) along one axis, or `None` when no window fits.
    pub fn along(self, input: usize, kernel: usize, stride: usize) -> Option<(usize, usize)> {
        match self {
            Padding::Valid => (input >= kernel).then(|| ((input - kernel) / stride + 1, 0)),
            Padding::Same => {
                let out = input.div_ceil(stride);
                let total = ((out - 1) * stride + kernel).saturating_sub(input);
                (out > 0).then_some((out, total / 2))
            }
        }
    }
}

/// Where every window of a 2-D sliding operation lies, for a batch of NHWC images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Window {
    /// The geometry for input dims `[batch, h, w, c]`, or a shape error naming `op`.
    pub fn new(
        op: &str,
        dims: &[usize],
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Self> {
        let &[batch, in_h, in_w, channels] = dims else {
            return Err(Error::shape(format!(
                "{op} needs a 4-D (batch, height, width, channels) input, got {dims:?}"
            )));
        };
        if kernel.contains(&0) || strides.contains(&0) {
            return Err(Error::invalid(format!(
                "{op}: window {kernel:?} and strides {strides:?} must be positive"
            )));
        }
        let too_small = || {
            Error::shape(format!(
                "{op}: a {}x{} window does not fit a {in_h}x{in_w} input with {padding:?} padding",
                kernel[0], kernel[1]
            ))
        };
        let (out_h, pad_top) = padding
            .along(in_h, kernel[0], strides[0])
            .ok_or_else(too_small)?;
        let (out_w, pad_left) = padding
            .along(in_w, kernel[1], strides[1])
            .ok_or_else(too_small)?;
        Ok(Window {
            batch,
            in_h,
            in_w,
            channels,
            k_h: kernel[0],
            k_w: kernel[1],
            stride_h: strides[0],
            stride_w: strides[1],
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    /// Elements of one input image.
    pub fn in_len(&self) -> usize {
        self.in_h * self.in_w * self.channels
    }

    /// Output pixels per image.
    pub fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// The input rows a window at output row `oy` covers, as (first kernel row, first input row,
    /// count), clipped to the image.
    #[inline]
    pub fn rows(&self, oy: usize) -> (usize, usize, usize) {
        clip(oy * self.stride_h, self.pad_top, self.k_h, self.in_h)
    }

    /// The same for the columns of output column `ox`.
    #[inline]
    pub fn cols(&self, ox: usize) -> (usize, usize, usize) {
        clip(ox * self.stride_w, self.pad_left, self.k_w, self.in_w)
    }
}

/// A window starting at padded position `start` (input position start − pad) of length `k`,
/// clipped to [0, size): (offset into the window, first input index, count).
#[inline]
fn clip(start: usize, pad: usize, k: usize, size: usize) -> (usize, usize, usize) {
    let skip = pad.saturating_sub(start);
    let first = (start + skip) - pad;
    let end = (start + k).saturating_sub(pad).min(size);
    (skip, first, end.saturating_sub(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_keras() {
        assert_eq!(Padding::Valid.along(28, 3, 1), Some((26, 0)));
        assert_eq!(Padding::Valid.along(11, 2, 2), Some((5, 0)));
        assert_eq!(Padding::Same.along(11, 2, 2), Some((6, 0)));
        assert_eq!(Padding::Same.along(5, 3, 1), Some((5, 1)));
        assert_eq!(Padding::Same.along(6, 3, 2), Some((3, 0)));
        assert_eq!(Padding::Same.along(5, 4, 1), Some((5, 1)));
        assert_eq!(Padding::Valid.along(2, 3, 1), None);
    }

    #[test]
    fn clipping_keeps_windows_inside_the_image() {
        // Padded by 1: the first window starts one row above the image.
        assert_eq!(clip(0, 1, 3, 5), (1, 0, 2));
        assert_eq!(clip(4, 1, 3, 5), (0, 3, 2));
        assert_eq!(clip(2, 0, 3, 5), (0, 2, 3));
    }
}
