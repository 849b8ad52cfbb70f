//! The command line, as clap parses it (each command's arguments in
//! `args`). No I/O here: `config` turns the
//! global flags into settings, and each command's file turns its arguments
//! into the options its handler takes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod args;

pub use args::*;

#[derive(Debug, Parser)]
#[command(
    name = "swarmpi",
    version = env!("SWARMPI_VERSION"),
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
    /// Build (or check) this server's node image, with extra packages or
    /// Dockerfile lines, without leaving the swarm.
    Image(ImageCommandArgs),
    /// Deploy (or reshape) an MPI cluster: N containers on every server.
    Deploy(DeployArgs),
    /// Show the swarm's servers and the cluster's containers.
    Status(StatusArgs),
    /// Remove a cluster from every server.
    Down(DownArgs),
    /// Run an MPI program (executable, C/C++/Fortran source, Python script,
    /// or a program in a synced project) on the cluster.
    Run(RunArgs),
    /// List the cluster's jobs (running and recent), attached or detached.
    Jobs(JobsArgs),
    /// Show a job's output so far; with -f, follow it until the job ends.
    Logs(LogsArgs),
    /// Wait for a job to end; exit with its exit code.
    Wait(JobArgs),
    /// Stop a job on every container.
    Cancel(JobArgs),
    /// Put a project directory in every container, sending only what changed.
    Sync(SyncArgs),
    /// Copy files between the manager and containers, as `docker cp` does.
    Cp(CpArgs),
    /// Run a command in the head container as the MPI user.
    Exec(ExecArgs),
    /// Open an interactive shell in the head container as the MPI user.
    Shell(ShellArgs),
    /// Measure MPI latency and bandwidth between containers, pair by pair.
    Bench(BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print swarmpi's man page (roff), generated from these definitions.
    #[command(hide = true)]
    Man,
    /// Check every server and every pair of servers: engine, node image,
    /// overlay data path, largest packet, gossip port, clocks.
    Doctor(DoctorArgs),
}

impl Command {
    /// Whether the user asked for JSON on stdout.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Init(args) => args.json,
            Command::Deploy(args) => args.json,
            Command::Status(args) => args.json,
            Command::Bench(args) => args.json,
            Command::Sync(args) => args.json,
            Command::Jobs(args) => args.json,
            Command::Doctor(args) => args.json,
            _ => false,
        }
    }
}
