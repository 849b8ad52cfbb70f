//! The one way bytes go from the manager into many containers: each
//! server's share leaves the manager once, to that server's first container,
//! which stages it and hands it to its siblings over the cluster's own SSH.
//! Every container installs from the same staged bytes with the caller's
//! `install` command (which checks what it got), so programs, syncs and
//! `cp` all travel, and fail, the same way.

use anyhow::{Context as _, Result};
use futures_util::future::join_all;

use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::STAGING_DIR;
use crate::cluster::remote::Remote;
use crate::printer::Printer;
use crate::ssh::Output;

/// Transfers smaller than this finish before a bar would be worth drawing.
pub const BAR_THRESHOLD: u64 = 4 * 1024 * 1024;

/// One server's share: its containers (indexes into the cluster's
/// members, the first one receives) and the bytes they all install.
pub struct Group<'a> {
    pub members: Vec<usize>,
    pub payload: &'a [u8],
}

/// What a fan-out did.
pub struct Fanned {
    /// Bytes that left the manager (each group's payload once).
    pub bytes: u64,
    /// Each container's answer to `install`, by member index.
    pub answers: Vec<(usize, Output)>,
}

/// Sends every group's payload to its first container and has each of its
/// containers run `install` with the payload on stdin; `doing` names the
/// transfer on the bar and in errors.
pub async fn fan_out(
    cluster: &OpenCluster,
    groups: &[Group<'_>],
    install: &Remote,
    doing: &str,
    printer: &Printer,
) -> Result<Fanned> {
    let total: u64 = groups.iter().map(|g| g.payload.len() as u64).sum();
    let bar = (total > BAR_THRESHOLD).then(|| printer.byte_bar(total, doing));
    let sends = groups.iter().map(|group| {
        let bar = bar.clone();
        async move {
            let progress = |n| bar.as_ref().map_or((), |bar| bar.inc(n));
            to_server(cluster, group, install, doing, progress).await
        }
    });
    let results = join_all(sends).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut answers = vec![];
    for result in results {
        answers.extend(result?);
    }
    Ok(Fanned {
        bytes: total,
        answers,
    })
}

/// One group: stage the payload in its first container, install it there
/// and, from there, in each sibling; the staged copy is always removed.
async fn to_server(
    cluster: &OpenCluster,
    group: &Group<'_>,
    install: &Remote,
    doing: &str,
    progress: impl Fn(u64),
) -> Result<Vec<(usize, Output)>> {
    let first = group.members[0];
    let leader = &cluster.members[first].node;
    let staged = format!(
        "{STAGING_DIR}/incoming.{}",
        digest::hex(&rand::random::<[u8; 8]>())
    );
    let receive = Remote::script("mkdir -p {} && cat > {}", &[STAGING_DIR, &staged])
        .and(install.clone().stdin_from(&staged));
    let result = async {
        let mut answers = vec![(
            first,
            leader
                .ask_upload(doing, &receive, group.payload, progress)
                .await?,
        )];
        let passes = group.members[1..].iter().map(|&index| {
            let sibling = &cluster.members[index].hostname;
            let pass = install.clone().on(sibling).stdin_from(&staged);
            async move {
                let answer = leader
                    .ask(doing, &pass, &[])
                    .await
                    .with_context(|| format!("{} could not pass it on to {sibling}", leader.name))?;
                anyhow::Ok((index, answer))
            }
        });
        for answer in join_all(passes).await {
            answers.push(answer?);
        }
        Ok(answers)
    }
    .await;
    let remove = Remote::argv(["rm", "-f", "--", &staged]);
    let _ = leader.ask("removing a staged copy", &remove, &[]).await;
    result
}
