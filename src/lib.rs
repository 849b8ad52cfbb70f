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

pub mod access;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod printer;
pub mod ssh;
pub mod state;
pub mod swarm;

use anyhow::Result;

use cli::{Cli, Command};
use cluster::names::ClusterNames;
use cluster::plan::Subnet;
use config::Settings;
use printer::Printer;
use ssh::keys::KeyType;

/// Runs one parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let json = match &cli.command {
        Command::Init(args) => args.json,
        Command::Status(args) => args.json,
        _ => false,
    };
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
        Command::Deploy(args) => {
            let options = commands::deploy::DeployOptions {
                names: ClusterNames::new(&args.cluster.name)?,
                per_host: args.per_host,
                slots: args.slots,
                image: args.image,
                subnet: args.subnet.as_deref().map(Subnet::parse).transpose()?,
                mtu: args.mtu,
                encrypted: args.encrypted,
                key_type: match args.key_type {
                    cli::KeyTypeArg::Rsa => KeyType::Rsa,
                    cli::KeyTypeArg::Ed25519 => KeyType::Ed25519,
                },
            };
            commands::deploy::run(settings, options, printer).await?;
        }
        Command::Status(args) => {
            let names = ClusterNames::new(&args.cluster.name)?;
            return commands::status::run(settings, commands::status::StatusOptions { names }, printer).await;
        }
        Command::Down(args) => {
            let names = ClusterNames::new(&args.cluster.name)?;
            commands::down::run(settings, commands::down::DownOptions { names }, printer).await?;
        }
        Command::Run(args) => {
            let mca = args
                .mca
                .chunks(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect();
            let options = commands::run::RunOptions {
                names: ClusterNames::new(&args.cluster.name)?,
                launch: cluster::program::Launch {
                    ranks: args.ranks,
                    oversubscribe: args.oversubscribe,
                    mca,
                    export: args.export,
                    map_by: args.map_by,
                    extra: args.mpi_arg,
                },
                program: args.program,
                args: args.args,
            };
            return commands::run::run(settings, options, printer).await;
        }
        Command::Exec(args) => {
            let options = commands::exec::ExecOptions {
                names: ClusterNames::new(&args.cluster.name)?,
                command: args.command,
            };
            return commands::exec::exec(settings, options, printer).await;
        }
        Command::Shell(args) => {
            let names = ClusterNames::new(&args.cluster.name)?;
            return commands::exec::shell(settings, names, printer).await;
        }
    }
    Ok(0)
}
