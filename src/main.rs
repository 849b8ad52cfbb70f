//! The `swarmpi` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = swarmpi::cli::Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("could not start the async runtime");
    let code = runtime.block_on(swarmpi::run(cli));
    // Sessions still closing in the background must not hold the exit.
    runtime.shutdown_background();
    code
}
