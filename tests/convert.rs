//! `ferrotype convert` (API.md §11), the real binary on real directories: what it writes,
//! skips and reports, its exit statuses, a run killed with `kill -9` and run again, its
//! memory on large photos, and options that need the whole pipeline (faces).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ferrotype() -> Command {
    without_configuration(Command::new(env!("CARGO_BIN_EXE_ferrotype")))
}

/// `cmd` without the `FERROTYPE_*` variables: the configuration comes from the test alone.
fn without_configuration(mut cmd: Command) -> Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("FERROTYPE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn convert(src: &Path, dst: &Path, args: &[&str]) -> Output {
    ferrotype()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(args)
        .output()
        .expect("ferrotype runs")
}

fn summary(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn copy(from: &str, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::copy(common::corpus().join(from), to).unwrap();
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// A tree of several formats, nested, with a text file, a corrupt image and a link out of
/// the tree.
fn tree(src: &Path) {
    copy("photo/rocket.jpg", &src.join("rocket.jpg"));
    copy("photo/astronaut.png", &src.join("people/astronaut.png"));
    copy("gif/iss634-animated.gif", &src.join("people/deep/iss.gif"));
    copy(
        "webp/flower-exif.webp",
        &src.join("people/deep/flower.webp"),
    );
    copy("avif/hopper.avif", &src.join("hopper.avif"));
    copy("hostile/truncated-40pct.jpg", &src.join("broken/cut.jpg"));
    std::fs::write(src.join("people/notes.txt"), "not an image\n").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", src.join("people/link.jpg")).unwrap();
}

#[test]
fn a_tree_is_converted_reported_and_skipped_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("out/web"));
    tree(&src);
    let out = convert(&src, &dst, &["--options", "w=200&fm=webp&q=70", "--json"]);
    assert_eq!(out.status.code(), Some(1), "a file failed");
    let s = summary(&out);
    assert_eq!(s["files"], 8, "{s}");
    assert_eq!(s["converted"], 5, "{s}");
    assert_eq!(s["skipped"], 2, "the text file and the link: {s}");
    assert_eq!(s["failed"][0]["path"], "broken/cut.jpg", "{s}");
    assert!(s["failed"][0]["error"]
        .as_str()
        .unwrap()
        .contains("corrupt"));
    assert_eq!(s["failed"].as_array().unwrap().len(), 1);
    assert!(s["bytes_in"].as_u64().unwrap() > s["bytes_out"].as_u64().unwrap());
    assert!(s["seconds"].as_f64().is_some());
    // Same relative paths, the output's extension, every one a 200 px WebP; animations kept.
    let written = files(&dst);
    assert_eq!(
        written,
        [
            "hopper.webp",
            "people/astronaut.webp",
            "people/deep/flower.webp",
            "people/deep/iss.webp",
            "rocket.webp",
        ]
        .map(PathBuf::from)
    );
    for f in &written {
        let d = common::decode(&std::fs::read(dst.join(f)).unwrap());
        assert_eq!(d.format, "webp", "{f:?}");
        assert!(d.width <= 200, "{f:?}");
    }
    assert_eq!(
        common::decode(&std::fs::read(dst.join("rocket.webp")).unwrap()).width,
        200
    );
    assert!(common::frame_count(&std::fs::read(dst.join("people/deep/iss.webp")).unwrap()) > 1);
    // The failure is said on stderr too.
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken/cut.jpg"));

    // Again: everything is up to date.
    let again = summary(&convert(
        &src,
        &dst,
        &["--options", "w=200&fm=webp&q=70", "--json"],
    ));
    assert_eq!(
        (again["converted"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(7))
    );
    // A source changed after its output is converted again.
    std::thread::sleep(Duration::from_millis(20));
    copy("photo/rocket.jpg", &src.join("rocket.jpg"));
    let changed = summary(&convert(
        &src,
        &dst,
        &["--options", "w=200&fm=webp&q=70", "--json"],
    ));
    assert_eq!(changed["converted"], 1, "{changed}");
    // --overwrite: all of them.
    let forced = summary(&convert(
        &src,
        &dst,
        &["--options", "w=200&fm=webp&q=70", "--json", "--overwrite"],
    ));
    assert_eq!(forced["converted"], 5, "{forced}");

    // Without `fm`, each keeps its format (its extension); nothing failed: 0.
    std::fs::remove_dir_all(src.join("broken")).unwrap();
    let kept = dir.path().join("kept");
    let out = convert(&src, &kept, &["--options", "w=64", "--jobs", "1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(kept.join("people/astronaut.png").exists());
    assert!(kept.join("rocket.jpg").exists());
    // Without --json, stdout stays empty and stderr ends with the summary.
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("7 files: 5 converted, 2 skipped, 0 failed"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    tree(&src);
    let dst = dir.path().join("dst");
    let cases: &[&[&str]] = &[
        &["--options", "w=0"],
        &["--options", "v=2"],
        &["--options", "exp=99999999999"],
        &["--options", "wat=1"],
        &["--options", "preset=none"],
        &["--jobs", "0"],
        &["--config", "/nonexistent/ferrotype.toml"],
        &["--frobnicate"],
    ];
    for args in cases {
        let out = convert(&src, &dst, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: a message");
        assert!(!dst.exists(), "{args:?} wrote something");
    }
    // Directories: a missing source, the source as destination, a file as destination.
    let missing = convert(&dir.path().join("nope"), &dst, &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(convert(&src, &src, &[]).status.code(), Some(2));
    assert_eq!(
        convert(&src.join("people"), &src, &[]).status.code(),
        Some(2)
    );
    let file = src.join("rocket.jpg");
    assert_eq!(convert(&src, &file, &[]).status.code(), Some(2));
    assert!(!dst.exists());
    // A bad configuration variable.
    let out = ferrotype()
        .args(["convert"])
        .arg(&src)
        .arg(&dst)
        .env("FERROTYPE_QUALITY", "jpeg=200")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FERROTYPE_QUALITY"));
    assert!(!dst.exists());
    // The destination inside the source is left out of the walk.
    let inside = src.join("web");
    let out = convert(&src, &inside, &["--options", "w=50&fm=png", "--json"]);
    let s = summary(&out);
    assert_eq!(s["files"], 8, "{s}");
    let again = summary(&convert(
        &src,
        &inside,
        &["--options", "w=50&fm=png", "--json"],
    ));
    assert_eq!(again["files"], 8, "outputs were walked: {again}");
}

/// `convert` on `src`, killed and failed if it has not finished within `deadline`.
fn convert_within(src: &Path, dst: &Path, args: &[&str], deadline: Duration) -> Output {
    let mut child = ferrotype()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferrotype runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > deadline {
            child.kill().unwrap();
            panic!("convert {args:?} still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn every_hostile_file_fails_alone_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let hostile = common::hostile_files();
    for name in &hostile {
        copy(&format!("hostile/{name}"), &src.join("bad").join(name));
    }
    copy("photo/rocket.jpg", &src.join("rocket.jpg"));
    for options in [
        "w=200&fm=webp",
        // The cut path, the steps after it and face detection's own decode.
        "trim=10&crop=0,0,0.5,0.5&pad=5&pixelate=4&g=face&faces=blur&fm=png",
    ] {
        let dst = dir.path().join(format!("dst-{}", options.len()));
        let out = convert_within(
            &src,
            &dst,
            &["--options", options, "--json", "--jobs", "2"],
            Duration::from_secs(120),
        );
        assert_eq!(out.status.code(), Some(1), "{options}");
        let s = summary(&out);
        assert_eq!(s["files"], hostile.len() + 1, "{s}");
        assert_eq!(s["converted"], 1, "only the photo: {s}");
        let failed = s["failed"].as_array().unwrap();
        assert_eq!(
            s["skipped"].as_u64().unwrap() + failed.len() as u64,
            hostile.len() as u64,
            "{s}"
        );
        assert!(failed.len() >= hostile.len() / 2, "{s}");
        for f in failed {
            let (path, error) = (f["path"].as_str().unwrap(), f["error"].as_str().unwrap());
            assert!(path.starts_with("bad/"), "{f}");
            assert!(!error.is_empty() && !error.contains('\n'), "{f}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(path),
                "{path} reported on stderr"
            );
        }
        // Nothing of theirs written, not even a partial file.
        let ext = if options.contains("png") {
            "png"
        } else {
            "webp"
        };
        assert_eq!(files(&dst), [PathBuf::from(format!("rocket.{ext}"))]);
    }
}

/// The peak resident memory, in KiB, of a whole `convert` run over `src` (the kernel's
/// count for that one child, taken when it is reaped), with its exit status.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which std's Child::wait does not offer, for its rusage"
)]
fn peak_of_run(src: &Path, dst: &Path) -> (i64, i32) {
    let child = ferrotype()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child; `status` and `usage` are plain out-parameters.
    let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(reaped, child.id() as i32);
    (usage.ru_maxrss, libc::WEXITSTATUS(status))
}

#[test]
fn ten_thousand_long_paths_cost_what_a_hundred_do() {
    let dir = tempfile::tempdir().unwrap();
    // Paths of ~2 KB (eight directories of 240-character names), so that holding every path
    // of the walk would show: ~20 MiB for 10 000 files, when creating files is slow enough
    // here (up to ~0.7 ms each) that a million short ones would not do.
    let make = |root: &Path, dirs: usize, files: usize| {
        let deep = (0..8).fold(root.to_owned(), |p, i| {
            p.join(format!("{i}{}", "d".repeat(239)))
        });
        for d in 0..dirs {
            let sub = deep.join(format!("leaf{d}"));
            std::fs::create_dir_all(&sub).unwrap();
            for f in 0..files {
                std::fs::File::create(sub.join(format!("{f:04}{}.jpg", "f".repeat(196)))).unwrap();
            }
        }
    };
    let (few, many) = (dir.path().join("few"), dir.path().join("many"));
    make(&few, 1, 100);
    make(&many, 10, 1000);
    let (few_kib, few_status) = peak_of_run(&few, &dir.path().join("out-few"));
    let (many_kib, many_status) = peak_of_run(&many, &dir.path().join("out-many"));
    assert_eq!((few_status, many_status), (0, 0), "empty files are skipped");
    assert!(
        many_kib <= few_kib + 4 * 1024,
        "10 000 files: {many_kib} KiB at peak, 100: {few_kib} KiB"
    );
}

#[test]
fn configuration_is_read_as_serve_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy("photo/rocket.jpg", &src.join("rocket.jpg"));
    let run = |dst: &str, options: &str, env: &[(&str, &str)]| {
        let mut cmd = ferrotype();
        cmd.arg("convert")
            .arg(&src)
            .arg(dir.path().join(dst))
            .args(["--options", options]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(dir.path().join(dst).join("rocket.jpg")).unwrap()
    };
    let preset = run(
        "preset",
        "preset=small",
        &[("FERROTYPE_PRESETS", "small=w=80&q=40")],
    );
    let written_out = run("direct", "w=80&q=40", &[]);
    assert_eq!(preset, written_out, "a preset is its options written out");
    let quality = run("quality", "w=80", &[("FERROTYPE_QUALITY", "jpeg=40")]);
    assert_eq!(quality, written_out, "FERROTYPE_QUALITY is q");
    // A limit: the photo is over 1000 bytes.
    let out = ferrotype()
        .arg("convert")
        .arg(&src)
        .arg(dir.path().join("limited"))
        .arg("--json")
        .env("FERROTYPE_MAX_SOURCE_BYTES", "1000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = summary(&out);
    assert!(s["failed"][0]["error"]
        .as_str()
        .unwrap()
        .contains("FERROTYPE_MAX_SOURCE_BYTES"));
}

/// A photo of `w × h` pixels, JPEG, made by the test.
fn big_photo(w: u32, h: u32) -> Vec<u8> {
    let small = common::pixels(&std::fs::read(common::corpus().join("photo/rocket.jpg")).unwrap());
    let big = image::imageops::resize(&small, w, h, image::imageops::FilterType::Triangle);
    let rgb = image::DynamicImage::ImageRgba8(big).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&rgb)
        .unwrap();
    out
}

/// The child's peak resident memory so far, in KiB (`VmHWM`).
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_killed_run_leaves_no_partial_output_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // 16 photos of 24 MP (6000 × 4000), each a distinct file.
    let photo = big_photo(6000, 4000);
    for i in 0..16 {
        // A comment segment after SOI that differs: different files, same pixels.
        let mut bytes = photo[..2].to_vec();
        bytes.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x03, i as u8]);
        bytes.extend_from_slice(&photo[2..]);
        std::fs::write(src.join(format!("p{i:02}.jpg")), bytes).unwrap();
    }
    let dst = dir.path().join("dst");
    let options = ["--options", "w=1600&fm=webp&q=80", "--jobs", "2"];

    // Killed once some outputs exist.
    let mut child = ferrotype()
        .arg("convert")
        .arg(&src)
        .arg(&dst)
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let started = std::time::Instant::now();
    loop {
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        let done = files(&dst)
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "webp"))
            .count();
        if done >= 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it was killed"
        );
        assert!(started.elapsed() < Duration::from_secs(300), "too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Whatever has an output's name is a whole image.
    for f in files(&dst) {
        if f.extension().is_some_and(|e| e == "webp") {
            let d = common::decode(&std::fs::read(dst.join(&f)).unwrap());
            assert_eq!(d.width, 1600, "{f:?}");
            common::pixels(&std::fs::read(dst.join(&f)).unwrap());
        }
    }

    // Run again: it finishes the job, with every output whole and no partial file left.
    let mut child = ferrotype()
        .arg("convert")
        .arg(&src)
        .arg(&dst)
        .args(options)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    });
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let status = child.wait().unwrap();
    peak = peak.max(sampler.join().unwrap());
    assert_eq!(status.code(), Some(0), "{stdout}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["files"], 16);
    assert!(
        s["converted"].as_u64().unwrap() + s["skipped"].as_u64().unwrap() == 16,
        "{s}"
    );
    assert!(s["skipped"].as_u64().unwrap() >= 3, "{s}");
    let written = files(&dst);
    assert_eq!(written.len(), 16, "{written:?}");
    for f in &written {
        assert_eq!(f.extension().unwrap(), "webp", "{f:?}");
        let bytes = std::fs::read(dst.join(f)).unwrap();
        assert_eq!(common::decode(&bytes).width, 1600);
        common::pixels(&bytes);
    }
    eprintln!("peak RSS {} MiB", peak / 1024);
    assert!(
        peak < 400 * 1024,
        "peak RSS {} MiB converting 24 MP photos two at a time",
        peak / 1024
    );
}

#[test]
fn faces_are_blurred_in_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy("photo/astronaut.png", &src.join("a/astronaut.png"));
    copy(
        "orientation/hopper_orientation_6.jpg",
        &src.join("b/hopper.jpg"),
    );
    let (plain, hidden) = (dir.path().join("plain"), dir.path().join("hidden"));
    assert_eq!(
        convert(&src, &plain, &["--options", "fm=png"])
            .status
            .code(),
        Some(0)
    );
    let out = convert(&src, &hidden, &["--options", "fm=png&faces=blur"]);
    assert_eq!(out.status.code(), Some(0));
    // The astronaut's face (labelled by hand) has lost its detail; her suit has not.
    let energy = |root: &Path, r| {
        let img = common::pixels(&std::fs::read(root.join("a/astronaut.png")).unwrap());
        common::edge_energy(&img, r)
    };
    let face = common::ASTRONAUT_FACE;
    assert!(energy(&hidden, face) < 0.2 * energy(&plain, face));
    let suit = (300.0, 380.0, 100.0, 100.0);
    assert_eq!(energy(&hidden, suit), energy(&plain, suit));
    // The EXIF-rotated portrait is hidden too.
    let a = common::pixels(&std::fs::read(plain.join("b/hopper.png")).unwrap());
    let b = common::pixels(&std::fs::read(hidden.join("b/hopper.png")).unwrap());
    assert_ne!(a, b);
}

#[test]
fn a_bar_on_a_terminal_plain_lines_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    tree(&src);
    // `script` runs the command on a pseudo-terminal and records what it drew.
    let command = format!(
        "{} convert {} {} --options 'w=100&fm=webp'",
        env!("CARGO_BIN_EXE_ferrotype"),
        src.display(),
        dir.path().join("tty").display()
    );
    let out = without_configuration(Command::new("script"))
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (bsdutils) runs");
    let drawn = String::from_utf8_lossy(&out.stdout);
    // Seven regular files (the link is not counted as work).
    assert!(drawn.contains("/7 files ·"), "{drawn}");
    assert!(drawn.contains("files/s"), "{drawn}");
    assert!(drawn.contains("saved"), "{drawn}");

    let out = convert(
        &src,
        &dir.path().join("piped"),
        &["--options", "w=100&fm=webp"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !said.contains('\u{1b}'),
        "no terminal codes in a pipe: {said:?}"
    );
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "the failure and the summary: {said}");
    assert!(lines[0].contains("broken/cut.jpg"));
    assert!(lines[1].starts_with("ferrotype convert: 8 files: 5 converted"));
}
