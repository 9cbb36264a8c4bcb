//! The `ringside` binary; everything lives in the library.

/// mimalloc rather than glibc's malloc: the server allocates and frees
/// small buffers at a high rate on many threads (frames, requests, pushes),
/// where glibc spent a quarter of the push dispatcher's time in its own
/// bookkeeping (bench/RESULTS.md, "Mobile push"). Built without transparent
/// huge pages (`no_thp`): with them, 19,000 idle sockets took 28.8 KiB each
/// instead of 18.5 KiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ringside::cli::main()
}
