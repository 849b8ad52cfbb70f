//! Files in and out of the cluster: projects synced to every container
//! (`sync`), built once and shared (`build`), and `swarmpi cp` both ways
//! (`cp`). In the containers a small helper (`helper.py`, sent with each
//! command) checks and renames what arrives, so nothing half-written is
//! ever left under its final name.

pub mod build;
pub mod cp;
pub mod project;
pub mod sync;
pub mod unpack;

use anyhow::{Result, anyhow};
use serde::Deserialize;

use crate::access::OpenCluster;
use crate::cluster::remote::Remote;
use crate::fanout::{self, Group};
use crate::printer::Printer;
use crate::ssh::Output;

/// The container-side helper, run by `python3 -c`.
const HELPER: &str = include_str!("helper.py");

/// The command that runs the helper with `args` in a container.
fn helper(args: &[&str]) -> Remote {
    Remote::python(HELPER, args)
}

/// What the helper's `apply` and `put` print.
#[derive(Debug, Default, Deserialize)]
struct Applied {
    written: u64,
    deleted: u64,
}

/// What a delivery did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Bytes that left the manager (one archive per server).
    pub bytes: u64,
    /// Containers that applied an archive.
    pub containers: usize,
    /// Files written and deleted, summed over the containers.
    pub written: u64,
    pub deleted: u64,
}

/// Sends each archive once to its server (through the one fan-out), where
/// every container of the group applies it with the helper command `apply`.
async fn deliver(
    cluster: &OpenCluster,
    groups: &[Group<'_>],
    apply: &Remote,
    printer: &Printer,
    doing: &str,
) -> Result<Delivered> {
    let fanned = fanout::fan_out(cluster, groups, apply, doing, printer).await?;
    let mut delivered = Delivered {
        bytes: fanned.bytes,
        ..Delivered::default()
    };
    for (index, answer) in fanned.answers {
        let applied = parse_applied(answer, &cluster.members[index].hostname)?;
        delivered.containers += 1;
        delivered.written += applied.written;
        delivered.deleted += applied.deleted;
    }
    Ok(delivered)
}

fn parse_applied(output: Output, container: &str) -> Result<Applied> {
    if output.code != 0 {
        return Err(anyhow!(
            "could not put the files in container {container}: {}",
            output.stderr_text()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow!("container {container} answered the file helper oddly: {e}"))
}
