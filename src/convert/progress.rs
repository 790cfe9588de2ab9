//! What `convert` says while it runs, on stderr: a bar on a terminal (files done of found,
//! rate, time left, bytes saved), plain lines otherwise (a failure as it happens, the count
//! every few seconds). The summary is the caller's.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often the plain lines report the count.
const EVERY: Duration = Duration::from_secs(5);

pub enum Progress {
    Bar(ProgressBar),
    Lines {
        found: u64,
        done: u64,
        last: Instant,
        started: Instant,
    },
}

impl Progress {
    pub fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            let now = Instant::now();
            return Self::Lines {
                found: 0,
                done: 0,
                last: now,
                started: now,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} files · {rate} · {eta} left · {msg}")
        {
            bar.set_style(style.with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} files/s", state.per_sec());
                },
            ));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self::Bar(bar)
    }

    /// `n` more files found by the count.
    pub fn found(&mut self, n: u64) {
        match self {
            Self::Bar(bar) => bar.inc_length(n),
            Self::Lines { found, .. } => *found += n,
        }
    }

    /// One more file done; `saved` bytes saved so far; `failure` when it failed.
    pub fn done(&mut self, saved: i64, failure: Option<String>) {
        match self {
            Self::Bar(bar) => {
                if let Some(line) = failure {
                    bar.println(line);
                }
                bar.set_message(format!("{} saved", human_bytes(saved)));
                bar.inc(1);
            }
            Self::Lines {
                found,
                done,
                last,
                started,
            } => {
                *done += 1;
                if let Some(line) = failure {
                    eprintln!("{line}");
                }
                if last.elapsed() >= EVERY {
                    *last = Instant::now();
                    let rate = *done as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    eprintln!(
                        "ferrotype convert: {done}/{found} files, {rate:.1} files/s, {} saved",
                        human_bytes(saved)
                    );
                }
            }
        }
    }

    pub fn finish(self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `1.2 MB`, `340 kB`, `-5 kB` (an output larger than its source).
pub fn human_bytes(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs() as f64;
    let (value, unit) = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        .into_iter()
        .find(|(size, _)| n >= *size)
        .map_or((n, "B"), |(size, unit)| (n / size, unit));
    if unit == "B" {
        format!("{sign}{value} B")
    } else {
        format!("{sign}{value:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(-34_000), "-34.0 kB");
        assert_eq!(human_bytes(5_000_000_000), "5.0 GB");
    }
}
