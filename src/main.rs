//! The `sprig` command line: subcommands, the statement loop, and result rendering.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
