//! libvips, started once per process and tuned for many small jobs side by side.

use rs_vips::Vips;

extern "C" {
    // In libvips 8.14, not in rs-vips' bindings.
    fn vips_vector_set_enabled(enabled: std::ffi::c_int);
}

/// Starts libvips once per process, tuned for many small jobs in parallel. Later calls
/// (tests, an embedding program) return the first call's outcome: libvips must not be
/// started twice, least of all from two threads at once.
pub fn init() -> Result<(), String> {
    static STARTED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    STARTED.get_or_init(start).clone()
}

fn start() -> Result<(), String> {
    // Loaders libvips itself marks untrusted (ImageMagick, matload, FITS, …) stay off:
    // the format sniffer only lets through formats we decode anyway, this is a second lock.
    std::env::set_var("VIPS_BLOCK_UNTRUSTED", "1");
    Vips::init("ferrotype").map_err(|e| e.to_string())?;
    // SVG is the exception: librsvg only ever sees documents that `sniff::check_structure`
    // found free of entities, scripts and external references.
    // SAFETY: a plain call into libvips with a NUL-terminated class name, after init.
    unsafe { rs_vips::bindings::vips_operation_block_set(c"VipsForeignLoadSvg".as_ptr(), 0) };
    // Parallelism comes from running requests side by side; more vips threads per image
    // gave nothing on small machines (see STACK.md) and fight the worker pool.
    Vips::concurrency_set(1);
    // Results are cached by the server; libvips' operation cache would only hold memory.
    Vips::cache_set_max(0);
    // No run-time code generation (ORC): without the operation cache every resize compiles
    // its programs again, and ORC 0.4.33 compiling on several threads at once crashed the
    // server under load (in `orc_code_allocate_codemem`, from `vips_reducev`).
    // SAFETY: a plain call into libvips after init.
    unsafe { vips_vector_set_enabled(0) };
    // SAFETY: installs a function with the GLogFunc signature that outlives the process.
    unsafe { rs_vips::bindings::g_log_set_default_handler(Some(glib_log), std::ptr::null_mut()) };
    Ok(())
}

/// libvips and GLib messages ("heifload: ignoring nclx profile", five times per AVIF) are
/// about one image, whose request already answers for itself: they go to the log at debug
/// level, as log events rather than raw lines on stderr between the request lines.
unsafe extern "C" fn glib_log(
    domain: *const std::ffi::c_char,
    level: rs_vips::bindings::GLogLevelFlags,
    message: *const std::ffi::c_char,
    _: rs_vips::bindings::gpointer,
) {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            std::borrow::Cow::Borrowed("")
        } else {
            // SAFETY: GLib passes NUL-terminated strings valid for the call.
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy()
        }
    };
    tracing::debug!(domain = %text(domain), level, "{}", text(message));
}
