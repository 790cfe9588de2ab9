fn main() -> std::process::ExitCode {
    ferrotype::cli::main()
}
