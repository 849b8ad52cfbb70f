//! Files in and out of the cluster: projects synced to every container
//! (`sync`), built once and shared (`build`), and `swarmpi cp` both ways
//! (`cp`). In the containers a small helper (`helper.py`, sent with each
//! command) checks and renames what arrives, so nothing half-written is
//! ever left under its final name.

pub mod build;
pub mod cp;
pub mod project;
pub mod sync;

use anyhow::{Result, anyhow};
use futures_util::future::join_all;
use serde::Deserialize;

use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::SYNC_DIR;
use crate::cluster::program::{python_command, shell_quote};
use crate::printer::Printer;

/// The container-side helper, run by `python3 -c`.
const HELPER: &str = include_str!("helper.py");
/// Archives smaller than this go before a bar would be worth drawing.
const BAR_THRESHOLD: u64 = 4 * 1024 * 1024;

/// The shell command that runs the helper with `args` in a container.
fn helper(args: &[&str]) -> String {
    python_command(HELPER, args)
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

/// Sends each archive once to the first container of its group (the
/// containers of one server), which applies it with the helper command
/// `apply` and passes it on to the others over the overlay.
async fn deliver(
    cluster: &OpenCluster,
    groups: Vec<(Vec<usize>, Vec<u8>)>,
    apply: &str,
    printer: &Printer,
    doing: &str,
) -> Result<Delivered> {
    let total: u64 = groups.iter().map(|(_, archive)| archive.len() as u64).sum();
    let bar = (total > BAR_THRESHOLD).then(|| printer.byte_bar(total, doing));
    let sends = groups.iter().map(|(indexes, archive)| {
        let bar = bar.clone();
        async move {
            let progress = |n| bar.as_ref().map_or((), |bar| bar.inc(n));
            deliver_to_server(cluster, indexes, archive, apply, progress).await
        }
    });
    let results = join_all(sends).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut delivered = Delivered {
        bytes: total,
        ..Delivered::default()
    };
    for applied in results
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
    {
        delivered.containers += 1;
        delivered.written += applied.written;
        delivered.deleted += applied.deleted;
    }
    Ok(delivered)
}

async fn deliver_to_server(
    cluster: &OpenCluster,
    indexes: &[usize],
    archive: &[u8],
    apply: &str,
    progress: impl Fn(u64),
) -> Result<Vec<Applied>> {
    let leader = &cluster.nodes[indexes[0]];
    let staged = format!(
        "{SYNC_DIR}/incoming.{}.tar",
        digest::hex(&rand::random::<[u8; 6]>())
    );
    let receive = format!("mkdir -p {SYNC_DIR} && cat > {staged} && {apply} < {staged}");
    let first = leader.exec_upload(&receive, archive, progress).await;
    let mut applied = vec![];
    let result = async {
        applied.push(parse_applied(first?, &leader.name)?);
        let passes = indexes[1..].iter().map(|&i| {
            let sibling = &cluster.members[i].hostname;
            let command = format!("ssh {sibling} {} < {staged}", shell_quote(apply));
            async move { parse_applied(leader.exec(&command, &[]).await?, sibling) }
        });
        for outcome in join_all(passes).await {
            applied.push(outcome?);
        }
        Ok(applied)
    }
    .await;
    let _ = leader.exec(&format!("rm -f {staged}"), &[]).await;
    result
}

fn parse_applied(output: crate::ssh::Output, container: &str) -> Result<Applied> {
    if output.code != 0 {
        return Err(anyhow!(
            "could not put the files in container {container}: {}",
            output.stderr_text().trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow!("container {container} answered the file helper oddly: {e}"))
}
