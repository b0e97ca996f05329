//! A bitmap backend that draws text correctly with the embedded font.
//!
//! plotters 0.3.7's `ab_glyph` text path ignores each glyph's left bearing, so letters after a
//! kerned pair drift ("Tr ouser", "Tr ue label"). This wrapper hands every shape to
//! plotters' `BitMapBackend` unchanged and only lays out and rasterizes text itself: glyphs
//! placed by advance + kerning, anti-aliased coverage blended onto the image, anchors and
//! 90° rotations honoured. Sizes follow the SVG backend (em = size / 1.24), so PNG and SVG
//! text match.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::backend::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// `BitMapBackend` with our own text rendering.
pub(crate) struct TextBitmap<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> TextBitmap<'a> {
    pub(crate) fn new(buf: &'a mut [u8], size: (u32, u32)) -> Self {
        TextBitmap {
            inner: BitMapBackend::with_buffer(buf, size),
            font: embedded_font(),
        }
    }
}

pub(crate) fn embedded_font() -> FontRef<'static> {
    FontRef::try_from_slice(super::FONT).expect("the embedded DejaVu Sans is a valid font")
}

/// The pixel scale for a plotters font size: em = size / 1.24, as the SVG backend writes it.
fn scale(font: &FontRef<'static>, size: f64) -> PxScale {
    let em = size as f32 / 1.24;
    let units = font.units_per_em().unwrap_or(2048.0);
    PxScale::from(em * font.height_unscaled() / units)
}

/// Width (advances + kerning) and height (ascent - descent) of `text`, in pixels.
pub(crate) fn measure(font: &FontRef<'static>, size: f64, text: &str) -> (f32, f32) {
    let f = font.as_scaled(scale(font, size));
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            width += f.kern(p, id);
        }
        width += f.h_advance(id);
        prev = Some(id);
    }
    (width, f.ascent() - f.descent())
}

impl DrawingBackend for TextBitmap<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        p: BackendCoord,
        c: BackendColor,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_pixel(p, c)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_rect(a, b, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        let (w, h) = measure(&self.font, style.size(), text);
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let px = scale(&self.font, style.size());
        let f = self.font.as_scaled(px);
        let (width, height) = measure(&self.font, style.size(), text);
        // Offsets of the text box's top-left corner from the anchor point, before rotation.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let baseline = dy + f.ascent();
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut caret = dx;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                caret += f.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(px, point(caret, baseline));
            caret += f.h_advance(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // spaces and other blank glyphs
            };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    pixels.push((
                        bounds.min.x as i32 + x as i32,
                        bounds.min.y as i32 + y as i32,
                        coverage,
                    ));
                }
            });
            for (x, y, coverage) in pixels {
                let (rx, ry) = transform.transform(x, y);
                let (x, y) = (pos.0 + rx, pos.1 + ry);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let ink = BackendColor {
                        alpha: color.alpha * coverage.min(1.0) as f64,
                        rgb: color.rgb,
                    };
                    self.inner.draw_pixel((x, y), ink)?;
                }
            }
        }
        Ok(())
    }
}
