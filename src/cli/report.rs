//! `nabla report DIR`: rebuild a run directory's plots and `report.html` from its files alone
//! (no data files, no model), e.g. after editing or archiving a run, or with a newer nabla.

use clap::Args;
use nabla::report::render;
use nabla::Result;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReportArgs {
    /// A run directory: of `nabla train`, `nabla run`, a variant or a sweep cell (it holds
    /// run.json), complete, interrupted or failed.
    pub dir: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let rendered = render(&args.dir)?;
    for path in &rendered.plots {
        println!("wrote {}", path.display());
    }
    println!("wrote {}", rendered.report.display());
    Ok(())
}
