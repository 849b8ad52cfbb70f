//! Each command's arguments, as clap parses them. No I/O here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cluster::names::DEFAULT_CLUSTER;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Number of MPI ranks.
    #[arg(short = 'n', long = "np", value_name = "N")]
    pub ranks: u32,

    /// Allow any number of ranks (by default up to 8 per slot run, sharing cores).
    #[arg(long, conflicts_with = "no_oversubscribe")]
    pub oversubscribe: bool,

    /// Refuse more ranks than the cluster has slots, as mpirun does.
    #[arg(long)]
    pub no_oversubscribe: bool,

    /// An Open MPI parameter, passed to mpirun (repeatable).
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], action = clap::ArgAction::Append)]
    pub mca: Vec<String>,

    /// Export an environment variable to the ranks (repeatable).
    #[arg(short = 'x', value_name = "VAR", action = clap::ArgAction::Append)]
    pub export: Vec<String>,

    /// mpirun's --map-by policy (e.g. node, slot, core).
    #[arg(long, value_name = "POLICY")]
    pub map_by: Option<String>,

    /// Any other mpirun argument, passed as is (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, action = clap::ArgAction::Append)]
    pub mpi_arg: Vec<String>,

    /// Start the job and print its id at once; it runs on whatever happens
    /// to this terminal (see `swarmpi jobs`, `logs`, `wait`, `cancel`).
    #[arg(short, long)]
    pub detach: bool,

    /// Sync this project directory to every container first, and run the
    /// program there (PROGRAM is then a path in the project, e.g. ./solver).
    #[arg(long, visible_alias = "workdir", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Build the project in the cluster before running, e.g. `make` (once,
    /// in the head; what it writes goes to every container).
    #[arg(long, value_name = "COMMAND", requires = "dir")]
    pub build: Option<String>,

    /// The program: a Linux x86-64 executable, a .c/.cpp/.cc/.cxx/.f90/.f
    /// source, a .py script; with --dir, a program in the project.
    pub program: PathBuf,

    /// Arguments for the program.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Print the jobs as JSON on stdout (see docs/guide.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub job: JobArgs,

    /// Follow the output until the job ends (Ctrl-C stops following, not the job).
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// The job's id, as `run --detach` and `swarmpi jobs` print it.
    #[arg(value_name = "JOB")]
    pub id: u32,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// The project directory; it goes to ~/projects/NAME in every container.
    pub dir: PathBuf,

    /// Print what was sent as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  swarmpi cp mpi-3:results/out.dat ./     from one container\n  \
    swarmpi cp ./input.dat mpi:data/         into every container of cluster mpi\n  \
    swarmpi cp ./params mpi-1:               into one container's home"
)]
pub struct CpArgs {
    /// What to copy: a local path, or CONTAINER:PATH (e.g. mpi-3:out.dat).
    pub source: String,

    /// Where: CLUSTER:PATH (every container), CONTAINER:PATH, or a local
    /// path. Relative container paths start at the MPI user's home; a
    /// trailing '/' means into that directory.
    pub dest: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. bash: `swarmpi completions bash > /etc/bash_completion.d/swarmpi`.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The probe network's MTU (default: Docker's), e.g. the one you
    /// deploy with.
    #[arg(long, value_name = "M")]
    pub mtu: Option<u32>,

    /// Probe over an encrypted network (IPsec between servers), as
    /// `deploy --encrypted` makes it.
    #[arg(long)]
    pub encrypted: bool,

    /// Also check this block of ports between every pair of servers, as
    /// `deploy --network host --port PORT` would use it (the blocks of
    /// host-network clusters already deployed are always checked).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Print the checks as JSON on stdout (see docs/guide.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// An Open MPI parameter for every measurement (repeatable), e.g.
    /// `--mca mpi_yield_when_idle 0` to measure busy polling.
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], action = clap::ArgAction::Append)]
    pub mca: Vec<String>,

    /// Do not measure the wire (the same ping-pong between the servers
    /// themselves, in a temporary container per server on their network).
    #[arg(long)]
    pub no_wire: bool,

    /// Print the results as JSON on stdout (see docs/guide.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The cluster to act on.
    #[arg(long, default_value = DEFAULT_CLUSTER, value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTypeArg {
    Rsa,
    Ed25519,
}

/// Where MPI's traffic between containers goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    /// An overlay network: containers of their own, several per server.
    Overlay,
    /// The servers' own network: one container per server, at the wire's speed.
    Host,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Containers on every Ready, Active server.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub per_host: u32,

    /// MPI slots per container (default: the server's CPUs / N, at least 1).
    #[arg(long, value_name = "S")]
    pub slots: Option<u32>,

    /// The node image (default: the one `swarmpi init` builds).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,

    /// Where MPI's traffic goes: an overlay network, or the servers' own
    /// network (one container per server; see docs/performance.md).
    #[arg(long, value_enum, default_value = "overlay")]
    pub network: NetworkArg,

    /// With --network host: the first of the cluster's 512 ports on every
    /// server (its sshd; Open MPI uses the rest). Default: a free block
    /// from 20000.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// The overlay network's subnet (default: Docker picks one).
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,

    /// The overlay network's MTU.
    #[arg(long, value_name = "M")]
    pub mtu: Option<u32>,

    /// Encrypt the overlay network's traffic (IPsec between servers).
    #[arg(long)]
    pub encrypted: bool,

    /// The cluster key's type.
    #[arg(long, value_enum, default_value = "rsa")]
    pub key_type: KeyTypeArg,

    /// Replace the cluster key in every container with a new one; the old
    /// one is refused afterwards (containers are not recreated).
    #[arg(long)]
    pub rotate_key: bool,

    /// CPUs each container may use (e.g. 2 or 1.5); the slots follow it.
    #[arg(long, value_name = "C")]
    pub cpus: Option<String>,

    /// Memory each container may use (e.g. 4g, 512m).
    #[arg(long, value_name = "M")]
    pub memory: Option<String>,

    /// Each container's /dev/shm (default: 128m per slot, at least 256m).
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,

    /// Print the ready cluster as JSON on stdout (see docs/guide.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Print the status as JSON on stdout (see docs/guide.md for the schema).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Use this existing local image for the nodes instead of building one.
    #[arg(long, value_name = "REF", conflicts_with_all = ["packages", "dockerfile"])]
    pub image: Option<String>,

    /// Extra Debian packages in the node image (space- or comma-separated,
    /// repeatable), e.g. --packages "libfftw3-dev libhdf5-openmpi-dev".
    #[arg(long, value_name = "NAMES", action = clap::ArgAction::Append)]
    pub packages: Vec<String>,

    /// Dockerfile instructions applied on top of the node image (a file).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImageCommandArgs {
    #[command(flatten)]
    pub image: ImageArgs,
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
    /// The token from `swarmpi init`: `SWMTKN-...@MANAGER:PORT`, or `-` to
    /// read it from standard input (off the command line, `ps` and the
    /// shell's history).
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
    /// Leave even if this is a manager with other servers (they are abandoned).
    #[arg(long)]
    pub force: bool,
}
