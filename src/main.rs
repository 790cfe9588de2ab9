// The allocator for the whole process (README, "Memory"): behind a feature so that the
// system allocator stays one `--no-default-features` away for comparison.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    ferrotype::cli::main()
}
