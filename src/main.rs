//! The `ringside` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    ringside::cli::main()
}
