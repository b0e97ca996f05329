//! A self-contained `report.html`: one file that shows a run's summary, tables, metrics and
//! plots with nothing else needed — images are inlined as base64 `data:` URIs, styles are
//! inline, and there are no scripts or external references, so it opens offline, from an
//! e-mail attachment or an archived run directory alike.
//!
//! ```
//! use nabla::report::html::HtmlReport;
//! let mut report = HtmlReport::new("mnist-mlp");
//! report
//!     .section("Model")
//!     .preformatted("Model: \"sequential\"\n...")
//!     .section("Metrics")
//!     .metrics(&[("test accuracy", "0.9781"), ("test loss", "0.0712")])
//!     .table(&["epoch", "loss"], &[vec!["1", "0.29"], vec!["2", "0.14"]]);
//! let html = report.to_html();
//! assert!(html.contains("<td>0.29</td>"));
//! ```

use std::fmt::Display;
use std::path::Path;

use base64::Engine;

use crate::error::{Error, Result};
use crate::report::atomic::write_atomic;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Builder for the report page. Content goes into the most recently started section (or an
/// untitled one at the top if none was started).
#[derive(Debug, Clone, Default)]
pub struct HtmlReport {
    title: String,
    sections: Vec<Section>,
}

#[derive(Debug, Clone)]
struct Section {
    heading: Option<String>,
    blocks: Vec<Block>,
}

#[derive(Debug, Clone)]
enum Block {
    Paragraph(String),
    Preformatted(String),
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Metrics(Vec<(String, String)>),
    /// Base64 of a PNG file, with its alt text / caption.
    Image {
        caption: String,
        base64: String,
    },
}

impl HtmlReport {
    pub fn new(title: impl Into<String>) -> Self {
        HtmlReport {
            title: title.into(),
            sections: Vec::new(),
        }
    }

    /// Starts a new section with an `<h2>` heading.
    pub fn section(&mut self, heading: impl Into<String>) -> &mut Self {
        self.sections.push(Section {
            heading: Some(heading.into()),
            blocks: Vec::new(),
        });
        self
    }

    /// A paragraph of plain text.
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Paragraph(text.into()))
    }

    /// Text shown as is in a monospace block (model summary, classification report).
    pub fn preformatted(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Preformatted(text.into()))
    }

    /// A table with a header row; rows may have any number of cells.
    pub fn table<H, R, C>(&mut self, headers: &[H], rows: &[R]) -> &mut Self
    where
        H: AsRef<str>,
        R: AsRef<[C]>,
        C: AsRef<str>,
    {
        let headers = headers.iter().map(|h| h.as_ref().to_string()).collect();
        let rows = rows
            .iter()
            .map(|r| r.as_ref().iter().map(|c| c.as_ref().to_string()).collect())
            .collect();
        self.push(Block::Table { headers, rows })
    }

    /// Named values shown as a two-column list (accuracy, loss, parameters...).
    pub fn metrics<K: AsRef<str>, V: Display>(&mut self, pairs: &[(K, V)]) -> &mut Self {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.to_string()))
            .collect();
        self.push(Block::Metrics(pairs))
    }

    /// Inlines PNG bytes as a `data:` URI; `caption` is the figure caption and alt text.
    /// Anything that is not a PNG is refused, so the page never shows a broken image.
    pub fn image_png(&mut self, caption: impl Into<String>, png: &[u8]) -> Result<&mut Self> {
        if !png.starts_with(PNG_SIGNATURE) {
            return Err(Error::invalid("report images must be PNG data"));
        }
        let base64 = base64::engine::general_purpose::STANDARD.encode(png);
        Ok(self.push(Block::Image {
            caption: caption.into(),
            base64,
        }))
    }

    /// Reads a PNG file (e.g. one a plot function wrote) and inlines it.
    pub fn image_file(&mut self, caption: impl Into<String>, path: &Path) -> Result<&mut Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if !bytes.starts_with(PNG_SIGNATURE) {
            return Err(Error::format(path, "not a PNG file"));
        }
        self.image_png(caption, &bytes)
    }

    fn push(&mut self, block: Block) -> &mut Self {
        if self.sections.is_empty() {
            self.sections.push(Section {
                heading: None,
                blocks: Vec::new(),
            });
        }
        self.sections
            .last_mut()
            .expect("a section exists")
            .blocks
            .push(block);
        self
    }

    /// The whole page as one HTML string.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(4096);
        out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
        out += &format!(
            "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            escape(&self.title)
        );
        out += &format!("<h1>{}</h1>\n", escape(&self.title));
        for section in &self.sections {
            out += "<section>\n";
            if let Some(h) = &section.heading {
                out += &format!("<h2>{}</h2>\n", escape(h));
            }
            for block in &section.blocks {
                render_block(&mut out, block);
            }
            out += "</section>\n";
        }
        out += "</body>\n</html>\n";
        out
    }

    /// Writes the page to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_html().as_bytes())
    }
}

fn render_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => *out += &format!("<p>{}</p>\n", escape(text)),
        Block::Preformatted(text) => *out += &format!("<pre>{}</pre>\n", escape(text)),
        Block::Table { headers, rows } => {
            *out += "<table>\n<thead><tr>";
            for h in headers {
                *out += &format!("<th>{}</th>", escape(h));
            }
            *out += "</tr></thead>\n<tbody>\n";
            for row in rows {
                *out += "<tr>";
                for cell in row {
                    *out += &format!("<td>{}</td>", escape(cell));
                }
                *out += "</tr>\n";
            }
            *out += "</tbody>\n</table>\n";
        }
        Block::Metrics(pairs) => {
            *out += "<dl class=\"metrics\">\n";
            for (k, v) in pairs {
                *out += &format!("<dt>{}</dt><dd>{}</dd>\n", escape(k), escape(v));
            }
            *out += "</dl>\n";
        }
        Block::Image { caption, base64 } => {
            let caption = escape(caption);
            *out += &format!(
                "<figure><img src=\"data:image/png;base64,{base64}\" alt=\"{caption}\">\
                 <figcaption>{caption}</figcaption></figure>\n"
            );
        }
    }
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&#39;",
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif;
       max-width: 1280px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .3em; }
h2 { margin-top: 1.6em; color: #1f77b4; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 13px; line-height: 1.35; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3em .8em; text-align: right; }
th { background: #f6f8fa; }
dl.metrics { display: grid; grid-template-columns: max-content auto; gap: .3em 1.5em; }
dl.metrics dt { font-weight: 600; }
dl.metrics dd { margin: 0; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 14px; margin-top: .3em; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png() -> Vec<u8> {
        crate::report::plots::encode_png(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9], 2, 2).unwrap()
    }

    /// The page must not reach outside itself: every image inline, no external URLs.
    pub(crate) fn assert_self_contained(html: &str) {
        for bad in [
            "src=\"http",
            "src=\"file",
            "src=\"//",
            "href=\"http",
            "url(",
            "<link",
            "@import",
        ] {
            assert!(
                !html.contains(bad),
                "report references external content: {bad}"
            );
        }
        let imgs = html.matches("<img").count();
        assert_eq!(
            imgs,
            html.matches("<img src=\"data:image/png;base64,").count(),
            "every <img> is a data URI"
        );
    }

    #[test]
    fn builds_every_block_and_escapes_text() {
        let mut r = HtmlReport::new("run <1> & \"friends\"");
        r.paragraph("before any section");
        r.section("Model")
            .preformatted("Layer (type)   Output Shape\n<dense> 'x'")
            .section("History")
            .table(&["epoch", "loss"], &[["1", "0.5"], ["2", "<0.4>"]])
            .metrics(&[("accuracy", 0.9781), ("loss", 0.07)]);
        r.section("Plots")
            .image_png("loss & accuracy", &tiny_png())
            .unwrap();
        let html = r.to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>run &lt;1&gt; &amp; &quot;friends&quot;</title>"));
        assert!(html.contains("<pre>Layer (type)   Output Shape\n&lt;dense&gt; &#39;x&#39;</pre>"));
        assert!(html.contains("<td>&lt;0.4&gt;</td>"));
        assert!(html.contains("<dt>accuracy</dt><dd>0.9781</dd>"));
        assert!(html.contains("alt=\"loss &amp; accuracy\""));
        assert!(html.find("before any section").unwrap() < html.find("<h2>Model</h2>").unwrap());
        assert_eq!(html.matches("<section>").count(), 4);
        assert_self_contained(&html);
    }

    #[test]
    fn non_png_images_are_refused() {
        let mut r = HtmlReport::new("t");
        assert!(r.image_png("x", b"<svg></svg>").is_err());
        let dir = std::env::temp_dir().join("nabla-html-tests/refuse");
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("a.svg");
        std::fs::write(&svg, "<svg/>").unwrap();
        let e = r.image_file("x", &svg).unwrap_err();
        assert!(e.to_string().contains("not a PNG"), "{e}");
        let e = r.image_file("x", &dir.join("missing.png")).unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
    }

    #[test]
    fn writes_the_page_atomically() {
        let dir = std::env::temp_dir().join("nabla-html-tests/write");
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("p.png");
        std::fs::write(&png, tiny_png()).unwrap();
        let mut r = HtmlReport::new("t");
        r.image_file("plot", &png).unwrap();
        let path = dir.join("report.html");
        r.write(&path).unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert_self_contained(&html);
        assert!(html.contains("<img src=\"data:image/png;base64,iVBORw0KGgo"));
    }
}
