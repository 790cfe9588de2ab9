//! `ferrotype convert SRC_DIR DST_DIR` (API.md §11): every image under a directory through
//! the same options parser and pipeline as `/transform`, written at the same relative path.
//!
//! - `walk` — the files, lazily, without following links;
//! - `job` — one file: judged, transformed, written whole (partial file, then rename);
//! - `progress` — a bar on a terminal, plain lines otherwise.
//!
//! Memory stays bounded whatever the directory holds: `--jobs` workers each hold one image,
//! the walker runs at most a few paths ahead of them (a bounded channel), and the count
//! for the progress bar keeps nothing but a number.

mod job;
mod progress;
mod walk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::config::{Config, Purpose};
use crate::imaging::Imaging;
use job::{Job, Outcome};
use progress::Progress;
use walk::{Found, Walk};

/// The command's arguments, as clap parsed them.
pub struct Args {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub options: String,
    pub jobs: usize,
    pub overwrite: bool,
    pub json: bool,
    pub config: Option<PathBuf>,
}

/// API.md §11's summary.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: u64,
    pub converted: u64,
    pub skipped: u64,
    pub failed: Vec<Failure>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub path: String,
    pub error: String,
}

/// A mistake in the arguments: reported, nothing written, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration has mistakes:\n{0}")]
    Config(crate::config::Error),
    #[error("--options: {0}")]
    Options(crate::options::Error),
    #[error("{0}")]
    Paths(String),
    #[error("{0}")]
    Setup(String),
}

/// The allocator setting a batch runs with.
const MALLOC_CONF: &str = "oversize_threshold:0";

/// Starts the command again with jemalloc keeping its large allocations, when it does not
/// already. By default jemalloc hands every allocation over 8 MiB (an image's decoded
/// pixels) back to the kernel when it is freed, and the next image faults it in again page
/// by page: measured, a tenth of a batch's CPU time in the kernel and 9 % more wall time.
/// A batch can spend ~100 MiB more resident memory on it; the server keeps the default.
/// Returns only when the new start is not possible (then the batch runs as it is).
pub fn keep_large_allocations() {
    use std::os::unix::process::CommandExt;
    if !cfg!(feature = "jemalloc") || std::env::var_os("MALLOC_CONF").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_CONF", MALLOC_CONF)
        .exec();
    tracing::debug!(error = %err, "convert runs with the allocator's defaults");
}

/// Runs the command: exit status 0 when nothing failed, 1 when a file failed, 2 for bad
/// arguments (nothing written).
pub fn main(args: &Args) -> ExitCode {
    match run(args) {
        Ok(summary) => {
            if args.json {
                match serde_json::to_string(&summary) {
                    Ok(json) => println!("{json}"),
                    Err(e) => eprintln!("ferrotype convert: the summary: {e}"),
                }
            } else {
                eprintln!(
                    "ferrotype convert: {} files: {} converted, {} skipped, {} failed; {} → {} in {:.1} s",
                    summary.files,
                    summary.converted,
                    summary.skipped,
                    summary.failed.len(),
                    progress::human_bytes(summary.bytes_in as i64),
                    progress::human_bytes(summary.bytes_out as i64),
                    summary.seconds
                );
            }
            if summary.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("ferrotype convert: {e}");
            ExitCode::from(2)
        }
    }
}

/// Everything checked before the first byte is written, then the run.
pub fn run(args: &Args) -> Result<Summary, Error> {
    let config =
        Config::load_for(args.config.as_deref(), Purpose::Convert).map_err(Error::Config)?;
    let spec = config
        .catalog
        .parse_batch(&args.options)
        .map_err(Error::Options)?;
    let (src, dst, skip) = paths(&args.src, &args.dst)?;
    crate::imaging::init().map_err(|e| Error::Setup(format!("libvips failed to start: {e}")))?;
    let jobs = args.jobs.max(1);
    let imaging = Imaging::configured(&config, jobs.div_ceil(2)).map_err(Error::Setup)?;
    std::fs::create_dir_all(&dst).map_err(|e| Error::Paths(format!("{}: {e}", dst.display())))?;
    let job = Job {
        imaging: &imaging,
        spec: &spec,
        dst: &dst,
        overwrite: args.overwrite,
        max_bytes: config.max_source_bytes,
    };
    Ok(convert_all(&src, skip, &job, jobs))
}

/// The source and destination, absolute, checked; the subtree of the source the walk must
/// leave out (the destination, when it is inside).
fn paths(src: &Path, dst: &Path) -> Result<(PathBuf, PathBuf, Option<PathBuf>), Error> {
    let src_abs = src
        .canonicalize()
        .map_err(|e| Error::Paths(format!("SRC_DIR {}: {e}", src.display())))?;
    if !src_abs.is_dir() {
        return Err(Error::Paths(format!(
            "SRC_DIR {}: not a directory",
            src.display()
        )));
    }
    let dst_abs =
        absolute(dst).map_err(|e| Error::Paths(format!("DST_DIR {}: {e}", dst.display())))?;
    if dst_abs.exists() && !dst_abs.is_dir() {
        return Err(Error::Paths(format!(
            "DST_DIR {}: not a directory",
            dst.display()
        )));
    }
    if dst_abs == src_abs || src_abs.starts_with(&dst_abs) {
        return Err(Error::Paths(format!(
            "DST_DIR {} holds SRC_DIR: outputs could replace originals",
            dst.display()
        )));
    }
    let skip = dst_abs.starts_with(&src_abs).then(|| dst_abs.clone());
    Ok((src_abs, dst_abs, skip))
}

/// `path` made absolute through its nearest existing ancestor (it may not exist yet).
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    let path = std::path::absolute(path)?;
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize()?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// The walk feeding `jobs` workers through a short queue; the results counted here.
fn convert_all(src: &Path, skip: Option<PathBuf>, job: &Job, jobs: usize) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut progress = Progress::new();
    let (work_tx, work_rx) = mpsc::sync_channel::<(PathBuf, PathBuf)>(jobs * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<Event>();
    std::thread::scope(|scope| {
        // The count, for the bar's total: names only, no file read.
        let count_tx = done_tx.clone();
        let count_skip = skip.clone();
        scope.spawn(move || {
            for found in Walk::new(src, count_skip) {
                if matches!(found, Found::File { .. }) && count_tx.send(Event::Found).is_err() {
                    return;
                }
            }
        });
        let walk_tx = done_tx.clone();
        scope.spawn(move || {
            for found in Walk::new(src, skip) {
                let sent = match found {
                    Found::File { path, relative } => work_tx.send((path, relative)).is_ok(),
                    Found::Other => walk_tx.send(Event::Other).is_ok(),
                    Found::Unreadable { relative, error } => walk_tx
                        .send(Event::Done(relative, Outcome::Failed(error)))
                        .is_ok(),
                };
                if !sent {
                    return;
                }
            }
        });
        for _ in 0..jobs {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            scope.spawn(move || loop {
                let next = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((path, relative))) = next else {
                    return;
                };
                let outcome = job.run(&path, &relative);
                if done_tx.send(Event::Done(relative, outcome)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        for event in done_rx {
            match event {
                Event::Found => progress.found(1),
                Event::Other => {
                    summary.files += 1;
                    summary.skipped += 1;
                }
                Event::Done(relative, outcome) => {
                    summary.files += 1;
                    let failure = record(&mut summary, relative, outcome);
                    let saved = summary.bytes_in as i64 - summary.bytes_out as i64;
                    progress.done(saved, failure);
                }
            }
        }
    });
    progress.finish();
    summary.failed.sort_by(|a, b| a.path.cmp(&b.path));
    summary.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    summary
}

enum Event {
    /// The count found one more file.
    Found,
    /// A link or special file: skipped.
    Other,
    Done(PathBuf, Outcome),
}

/// Adds one file's outcome; the line to show when it failed.
fn record(summary: &mut Summary, relative: PathBuf, outcome: Outcome) -> Option<String> {
    match outcome {
        Outcome::Converted {
            bytes_in,
            bytes_out,
        } => {
            summary.converted += 1;
            summary.bytes_in += bytes_in;
            summary.bytes_out += bytes_out;
            None
        }
        Outcome::NotAnImage | Outcome::UpToDate => {
            summary.skipped += 1;
            None
        }
        Outcome::Failed(error) => {
            let path = relative.to_string_lossy().into_owned();
            let line = format!("ferrotype convert: {path}: {error}");
            summary.failed.push(Failure { path, error });
            Some(line)
        }
    }
}
