//! swarmpi turns a few Docker hosts into an Open MPI cluster.
//!
//! # Layout
//! - [`cli`]: the command line as clap parses it; [`config`] turns it into
//!   [`config::Settings`] once.
//! - [`commands`]: one module per subcommand; thin, they call the rest.
//! - [`cluster`]: pure planning (token format, names, placement, hostfile).
//! - [`swarm`]: everything that talks to the Docker API.
//! - [`ssh`]: everything that talks SSH to the cluster's containers.
//! - [`printer`]: the one owner of stdout, stderr and progress bars.
//! - [`error`]: user errors and their exit codes.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod printer;
pub mod swarm;

use anyhow::Result;

use cli::{Cli, Command};
use config::Settings;
use printer::Printer;

/// Runs one parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let json = matches!(&cli.command, Command::Init(args) if args.json);
    let printer = Printer::new(cli.global.quiet, cli.global.verbose, json);
    let settings = Settings::resolve(&cli.global);
    match dispatch(cli.command, &settings, &printer).await {
        Ok(code) => code,
        Err(error) => {
            printer.error(&error);
            error::exit_code_of(&error)
        }
    }
}

async fn dispatch(command: Command, settings: &Settings, printer: &Printer) -> Result<i32> {
    match command {
        Command::Init(args) => {
            let options = commands::init::InitOptions {
                advertise_addr: args.advertise_addr,
                image: args.image.image,
            };
            commands::init::run(settings, options, printer).await?;
        }
        Command::Join(args) => {
            let options = commands::join::JoinOptions {
                token: args.token,
                advertise_addr: args.advertise_addr,
                image: args.image.image,
            };
            commands::join::run(settings, options, printer).await?;
        }
        Command::Leave(args) => {
            commands::leave::run(
                settings,
                commands::leave::LeaveOptions { force: args.force },
                printer,
            )
            .await?;
        }
    }
    Ok(0)
}
