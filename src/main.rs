//! The `sprig` command line: subcommands, the statement loop, and result rendering.

mod cli;

// Query execution allocates many small rows and keys; mimalloc handles that
// pattern much better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
