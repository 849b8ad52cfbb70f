//! The command line, as clap parses it. No I/O here: `config` turns these
//! structs into settings and the command handlers never see them.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "swarmpi",
    version,
    about = "Turn a few Docker hosts into an Open MPI cluster in minutes",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Show more detail about each step.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Print only errors and the command's data.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Where swarmpi keeps cluster state (keys, settings) on the manager.
    #[arg(long, global = true, env = "SWARMPI_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make this Docker host a swarm manager and prepare the node image.
    Init(InitArgs),
    /// Join this Docker host to a swarm with the line `swarmpi init` printed.
    Join(JoinArgs),
    /// Take this Docker host out of its swarm.
    Leave(LeaveArgs),
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Use this existing local image for the nodes instead of building one.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The address other servers reach this one at (default: the address of
    /// the interface that holds the default route).
    #[arg(long, value_name = "IP")]
    pub advertise_addr: Option<IpAddr>,

    #[command(flatten)]
    pub image: ImageArgs,

    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The token from `swarmpi init`: `SWMTKN-...@MANAGER:PORT`.
    pub token: String,

    /// The address the manager reaches this server at (default: the address
    /// of the interface that holds the default route).
    #[arg(long, value_name = "IP")]
    pub advertise_addr: Option<IpAddr>,

    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Debug, Args)]
pub struct LeaveArgs {
    /// Leave even if this is a manager with other nodes or running clusters.
    #[arg(long)]
    pub force: bool,
}
