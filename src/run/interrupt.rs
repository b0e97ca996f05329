//! Ctrl-C and SIGTERM end a run gracefully: the first signal lets the current batch finish,
//! then the run saves its history, a checkpoint and its report and says it was interrupted;
//! a second signal ends the process at once (exit 130), as a user pressing twice expects.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// The exit status of a process ended by SIGINT, by shell convention (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Installs the handler (once per process) and returns the flag it sets, to pass to
/// [`super::RunOptions::interrupt`].
pub fn install_signal_handler() -> Result<&'static AtomicBool> {
    static INSTALLED: std::sync::OnceLock<std::result::Result<(), String>> =
        std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
                    REQUESTED.store(true, Ordering::SeqCst);
                    eprintln!(
                        "\ninterrupted: finishing the current batch, then saving the run \
                         (interrupt again to quit at once)"
                    );
                } else {
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            })
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::invalid(format!("cannot watch for Ctrl-C: {e}")))?;
    Ok(&REQUESTED)
}
