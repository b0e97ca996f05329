//! Keras-style progress: `Epoch 3/10` then
//! `1875/1875 [==============================] - 1s 532us/step - loss: 0.2863 - accuracy: 0.8941`.
//! A live bar on a terminal; one plain line per epoch otherwise.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verbosity {
    Silent,
    /// One line per epoch (Keras's `verbose=2`), also what a non-terminal gets.
    Lines,
    /// A live bar on a terminal (Keras's `verbose=1`); plain lines when not a terminal.
    #[default]
    Bar,
}

/// Where progress goes: stdout normally, stderr when stdout carries JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
}

pub(crate) struct Progress {
    total: usize,
    live: bool,
    silent: bool,
    stream: Stream,
    start: Instant,
    last_draw: Option<Instant>,
}

const BAR_WIDTH: usize = 30;

impl Progress {
    pub(crate) fn new(total: usize, verbosity: Verbosity, stream: Stream) -> Self {
        let terminal = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        Progress {
            total,
            live: verbosity == Verbosity::Bar && terminal,
            silent: verbosity == Verbosity::Silent,
            stream,
            start: Instant::now(),
            last_draw: None,
        }
    }

    pub(crate) fn epoch_header(&self, epoch: usize, epochs: usize) {
        if !self.silent {
            self.write(&format!("Epoch {epoch}/{epochs}\n"));
        }
    }

    /// Redraws the live bar at most ten times a second.
    pub(crate) fn update(&mut self, step: usize, metrics: &[(&str, f64)]) {
        if !self.live {
            return;
        }
        let now = Instant::now();
        if let Some(last) = self.last_draw {
            if now.duration_since(last).as_millis() < 100 && step < self.total {
                return;
            }
        }
        self.last_draw = Some(now);
        let line = self.line(step, metrics);
        self.write(&format!("\r{line}"));
    }

    pub(crate) fn finish(&mut self, metrics: &[(&str, f64)]) {
        if self.silent {
            return;
        }
        let line = self.line(self.total, metrics);
        if self.live {
            self.write(&format!("\r{line}\n"));
        } else {
            self.write(&format!("{line}\n"));
        }
    }

    /// Ends a live bar's line so what is printed next starts on its own.
    pub(crate) fn interrupted(&mut self) {
        if self.live {
            self.write("\n");
        }
    }

    fn line(&self, step: usize, metrics: &[(&str, f64)]) -> String {
        let width = self.total.to_string().len();
        let done = (BAR_WIDTH * step)
            .checked_div(self.total)
            .unwrap_or(BAR_WIDTH);
        let mut bar = "=".repeat(done);
        if done < BAR_WIDTH {
            bar.push('>');
            bar.push_str(&".".repeat(BAR_WIDTH - done - 1));
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let per_step = if step > 0 { elapsed / step as f64 } else { 0.0 };
        let timing = if step >= self.total {
            format!("{:.0}s {}", elapsed, per_step_text(per_step))
        } else {
            format!("ETA: {:.0}s", per_step * (self.total - step) as f64)
        };
        let mut line = format!("{step:>width$}/{} [{bar}] - {timing}", self.total);
        for (name, value) in metrics {
            line.push_str(&format!(" - {name}: {value:.4}"));
        }
        line
    }

    fn write(&self, text: &str) {
        let _ = match self.stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush())
            }
            Stream::Stderr => {
                let mut out = std::io::stderr().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush())
            }
        };
    }
}

/// Keras's per-step time: seconds, milliseconds or microseconds, whichever reads best.
fn per_step_text(seconds: f64) -> String {
    if seconds >= 1.0 || seconds == 0.0 {
        format!("{seconds:.0}s/step")
    } else if seconds >= 1e-3 {
        format!("{:.0}ms/step", seconds * 1e3)
    } else {
        format!("{:.0}us/step", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_line_has_keras_layout() {
        let p = Progress::new(1875, Verbosity::Lines, Stream::Stderr);
        let line = p.line(1875, &[("loss", 0.28634), ("accuracy", 0.89412)]);
        assert!(line.starts_with("1875/1875 [==============================] - "));
        assert!(
            line.ends_with(" - loss: 0.2863 - accuracy: 0.8941"),
            "{line}"
        );
        let partial = p.line(10, &[]);
        assert!(partial.starts_with("  10/1875 [>.............................] - ETA"));
    }

    #[test]
    fn per_step_units() {
        assert_eq!(per_step_text(0.0005), "500us/step");
        assert_eq!(per_step_text(0.012), "12ms/step");
        assert_eq!(per_step_text(2.0), "2s/step");
    }
}
