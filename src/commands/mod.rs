//! One file per subcommand. Each turns its clap arguments into options
//! (`From`/`TryFrom`, checking what needs no Docker), then makes a few calls
//! into the modules that do the work, and returns an [`Outcome`].
//!
//! [`Outcome`]: crate::error::Outcome

pub mod bench;
pub mod completions;
pub mod cp;
pub mod deploy;
pub mod doctor;
pub mod down;
pub mod exec;
pub mod image;
pub mod init;
pub mod jobs;
pub mod join;
pub mod leave;
pub mod run;
pub mod shell;
pub mod status;
pub mod sync;

use crate::cli::ClusterArgs;
use crate::cluster::names::ClusterNames;

/// `--name NAME`, checked: what commands acting on one cluster take.
impl TryFrom<ClusterArgs> for ClusterNames {
    type Error = anyhow::Error;

    fn try_from(args: ClusterArgs) -> anyhow::Result<ClusterNames> {
        Ok(ClusterNames::new(&args.name)?)
    }
}
