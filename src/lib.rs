//! swarmpi turns a few Docker hosts into an Open MPI cluster.
//!
//! # Layout
//! - [`cli`]: the command line as clap parses it; [`config`] turns the
//!   global flags into [`config::Settings`] once.
//! - [`commands`]: one module per subcommand, each converting its clap
//!   arguments into options and making a few calls.
//! - [`converge`], [`access`], [`job`], [`node_image`]: the multi-step work
//!   (deploying, opening a deployed cluster, running a job, preparing the
//!   node image).
//! - [`cluster`]: pure planning and interpretation; no I/O.
//! - [`swarm`]: everything that talks to the Docker API.
//! - [`ssh`]: everything that talks SSH to the cluster's containers.
//! - [`state`]: cluster state on the manager.
//! - [`printer`], [`interrupt`], [`wait`], [`error`]: the one printer, the
//!   one Ctrl-C handler, the one way to wait, and the exit codes.
//!
//! See ARCHITECTURE.md for the code map and its invariants.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod access;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod context;
pub mod converge;
pub mod doctor;
pub mod error;
pub mod fanout;
pub mod files;
pub mod heal;
pub mod interrupt;
pub mod job;
pub mod net;
pub mod node_image;
pub mod printer;
pub mod ssh;
pub mod state;
pub mod swarm;
pub mod wait;

use anyhow::Result;

use cli::{Cli, Command};
use commands::{
    bench as bench_cmd, completions, cp, deploy, doctor as doctor_cmd, down, exec, image, init, jobs, join,
    leave, run as run_cmd, shell, status, sync,
};
use context::Context;
use error::Outcome;

/// Runs one parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    let printer = printer::Printer::new(cli.global.quiet, cli.global.verbose, cli.command.wants_json());
    let ctx = Context {
        settings: config::Settings::resolve(&cli.global),
        printer,
        cancel: interrupt::Cancel::new(),
    };
    interrupt::listen(ctx.cancel.clone(), ctx.printer.clone());
    let code = match dispatch(cli.command, &ctx).await {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            ctx.printer.error(&error);
            u8::try_from(error::exit_code_of(&error)).unwrap_or(1)
        }
    };
    std::process::ExitCode::from(code)
}

/// Commands that have nothing to undo run under `Cancel::guard` (Ctrl-C
/// drops them); the others handle cancellation themselves.
async fn dispatch(command: Command, ctx: &Context) -> Result<Outcome> {
    let c = &ctx.cancel;
    match command {
        Command::Init(args) => c.guard("initializing", init::run(ctx, args.try_into()?)).await,
        Command::Join(args) => join::run(ctx, args.try_into()?).await,
        Command::Image(args) => c.guard("building", image::run(ctx, args.try_into()?)).await,
        Command::Leave(args) => c.guard("leaving", leave::run(ctx, args.into())).await,
        Command::Deploy(args) => deploy::run(ctx, args.try_into()?).await,
        Command::Status(args) => {
            c.guard("reading", status::run(ctx, args.cluster.try_into()?))
                .await
        }
        Command::Down(args) => down::run(ctx, args.cluster.try_into()?).await,
        Command::Run(args) => run_cmd::run(ctx, args.try_into()?).await,
        Command::Jobs(args) => {
            c.guard("reading", jobs::list(ctx, args.cluster.try_into()?))
                .await
        }
        Command::Logs(args) => jobs::logs(ctx, args).await,
        Command::Wait(args) => jobs::wait(ctx, args.try_into()?).await,
        Command::Cancel(args) => c.guard("cancelling", jobs::cancel(ctx, args.try_into()?)).await,
        Command::Sync(args) => c.guard("syncing", sync::run(ctx, args.try_into()?)).await,
        Command::Cp(args) => c.guard("copying", cp::run(ctx, args.try_into()?)).await,
        Command::Exec(args) => exec::run(ctx, args.try_into()?).await,
        Command::Shell(args) => shell::run(ctx, args.cluster.try_into()?).await,
        Command::Bench(args) => bench_cmd::run(ctx, args.try_into()?).await,
        Command::Completions(args) => completions::completions(ctx, args),
        Command::Man => completions::man(ctx),
        Command::Doctor(args) => doctor_cmd::run(ctx, args.try_into()?).await,
    }
}
