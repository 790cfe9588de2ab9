//! The command line: `ferrotype serve`, `ferrotype sign` and `ferrotype convert`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::signature::{Algorithm, Signer};

#[derive(Parser)]
#[command(
    name = "ferrotype",
    version,
    about = "On-the-fly image proxy and transform server",
    long_about = "On-the-fly image proxy and transform server.\n\n\
        Web pages embed signed ferrotype URLs; ferrotype fetches the original, resizes and \
        converts it with libvips, and answers with long-lived cache headers.\n\n\
        Configuration comes from a TOML file (--config) and FERROTYPE_* environment variables \
        (which win). With neither, `ferrotype serve` runs a demo on 127.0.0.1:8080.",
    after_help = "Examples:\n  \
        ferrotype serve\n  \
        FERROTYPE_KEYS=secret FERROTYPE_SOURCES=img=file:///srv/images ferrotype serve\n  \
        ferrotype sign --key secret '/transform/img/cat.jpg?w=600&h=600'\n  \
        ferrotype convert photos/ web/ --options 'w=1600&fm=webp&q=80'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (a demo when no configuration is given).
    Serve {
        /// TOML configuration file; FERROTYPE_* variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print a URL with its signature `s` added (or replaced).
    Sign {
        /// A path and query (`/transform/src/a.jpg?w=300`) or a full http(s) URL.
        url: String,
        /// Signing key; by default the first of FERROTYPE_KEYS (or of --config's `keys`).
        #[arg(long, env = "FERROTYPE_SIGN_KEY", hide_env_values = true)]
        key: Option<String>,
        /// HMAC-SHA256 instead of the configured algorithm.
        #[arg(long)]
        sha256: bool,
        /// TOML configuration file to take the key and algorithm from.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Transform every image under SRC_DIR into DST_DIR, at the same relative paths.
    #[command(
        after_help = "Exit status: 0 when nothing failed, 1 when a file failed, 2 for bad \
        arguments (nothing written).\n\nExample:\n  \
        ferrotype convert photos/ web/ --options 'w=1600&fm=webp&q=80' --json"
    )]
    Convert {
        /// The directory to read (recursively; symbolic links are not followed).
        src_dir: PathBuf,
        /// Where the outputs go, with the output format's extension.
        dst_dir: PathBuf,
        /// /transform's options, in its query syntax (not exp, v, filename, dl).
        #[arg(long, default_value = "")]
        options: String,
        /// Images processed at once (default: the number of cores).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        jobs: Option<u16>,
        /// Write outputs even when they are newer than their source.
        #[arg(long)]
        overwrite: bool,
        /// Print a JSON summary on stdout.
        #[arg(long)]
        json: bool,
        /// TOML configuration file (limits, qualities, presets, watermarks, font).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

pub fn main() -> ExitCode {
    crate::screenshot::exec_chromium_if_asked();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Sign {
            url,
            key,
            sha256,
            config,
        } => sign(&url, key, sha256, config),
        Command::Convert {
            src_dir,
            dst_dir,
            options,
            jobs,
            overwrite,
            json,
            config,
        } => {
            crate::convert::keep_large_allocations();
            crate::convert::main(&crate::convert::Args {
                src: src_dir,
                dst: dst_dir,
                options,
                jobs: jobs.map_or_else(
                    || std::thread::available_parallelism().map_or(1, |n| n.get()),
                    usize::from,
                ),
                overwrite,
                json,
                config,
            })
        }
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("ferrotype: {msg}");
    ExitCode::FAILURE
}

fn sign(url: &str, key: Option<String>, sha256: bool, config: Option<PathBuf>) -> ExitCode {
    let signer = match key {
        Some(k) => Signer::new(
            if sha256 {
                Algorithm::Sha256
            } else {
                Algorithm::Sha1
            },
            vec![k.into_bytes()],
        ),
        None => match Config::load(config.as_deref()) {
            Ok(c) if c.demo => {
                return fail("no key to sign with: pass --key, or set FERROTYPE_KEYS or --config")
            }
            Ok(c) if sha256 => {
                Signer::new(Algorithm::Sha256, vec![c.signer.signing_key().to_vec()])
            }
            Ok(c) => c.signer,
            Err(e) => return fail(format!("configuration:\n{e}")),
        },
    };
    let (origin, target) = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let path_at = after.find('/').map_or(url.len(), |j| i + 3 + j);
            (&url[..path_at], &url[path_at..])
        }
        None => ("", url),
    };
    if !target.starts_with('/') {
        return fail(format!(
            "{url:?}: expected a path starting with '/' or a full URL"
        ));
    }
    println!("{origin}{}", signer.signed_url(target));
    ExitCode::SUCCESS
}

fn serve(config_file: Option<PathBuf>) -> ExitCode {
    crate::telemetry::init_logging();
    let mut config = match Config::load(config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(format!("configuration has mistakes:\n{e}")),
    };
    if config.demo {
        if let Err(e) = crate::demo::install(&mut config) {
            return fail(e);
        }
    }
    if let Err(e) = crate::imaging::init() {
        return fail(format!("libvips failed to start: {e}"));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.bind).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {}: {e}", config.bind)),
        };
        if config.demo {
            print!("{}", crate::demo::banner(&config));
        }
        let metrics = match config.metrics_bind {
            Some(bind) => match tokio::net::TcpListener::bind(bind).await {
                Ok(l) => Some(l),
                Err(e) => return fail(format!("cannot listen on {bind} for metrics: {e}")),
            },
            None => None,
        };
        let addr = listener.local_addr().map_or(config.bind, |a| a);
        let app = match crate::http::App::new(config).await {
            Ok(a) => Arc::new(a),
            Err(e) => return fail(e),
        };
        if let Some(addr) = metrics.as_ref().and_then(|l| l.local_addr().ok()) {
            println!("ferrotype metrics on http://{addr}/metrics");
        }
        // A plain line on stdout: scripts and tests wait for it (the bind may be port 0).
        println!("ferrotype listening on http://{addr}");
        tracing::info!(%addr, "listening");
        match crate::http::serve(listener, metrics, app, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing requests in flight");
}
