//! Putting a program in every container: once per server from the manager,
//! then from that server's first container to its siblings over the overlay.
//! Every copy is checked with SHA-256 on arrival; containers that already
//! hold the same bytes are skipped.

use std::collections::BTreeMap;

use anyhow::Result;
use futures_util::future::join_all;

use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::BIN_DIR;
use crate::cluster::program::shell_quote;
use crate::printer::Printer;
use crate::ssh::{Node, Output};

/// Uploads shorter than this finish before a bar would be worth drawing.
const BAR_THRESHOLD: u64 = 4 * 1024 * 1024;

/// Puts `binary` at `path` in every container that lacks it.
pub(super) async fn distribute(
    cluster: &OpenCluster,
    binary: &[u8],
    path: &str,
    printer: &Printer,
) -> Result<()> {
    let sha256 = digest::sha256_hex(binary);
    let by_server = missing_by_server(cluster, path, &sha256).await;
    if by_server.is_empty() {
        printer.info(format!("{path} is unchanged in every container: not sent again"));
        return Ok(());
    }
    let total = binary.len() as u64 * by_server.len() as u64;
    let bar = (total > BAR_THRESHOLD).then(|| printer.byte_bar(total, "copying program"));
    let install = install_command(path, &sha256);
    let copies = by_server.values().map(|indexes| {
        let (bar, install) = (bar.clone(), install.clone());
        async move {
            let progress = |n| bar.as_ref().map_or((), |bar| bar.inc(n));
            copy_to_server(cluster, indexes, binary, path, &install, progress).await
        }
    });
    let results = join_all(copies).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results.into_iter().collect::<Result<()>>()?;
    let containers: usize = by_server.values().map(Vec::len).sum();
    printer.info(format!(
        "copied {path} ({} bytes) to {containers} container(s); {total} bytes left the manager",
        binary.len()
    ));
    Ok(())
}

/// The members lacking the program, grouped by server.
async fn missing_by_server<'a>(
    cluster: &'a OpenCluster,
    path: &str,
    sha256: &str,
) -> BTreeMap<&'a str, Vec<usize>> {
    let have = join_all(cluster.nodes.iter().map(|node| has_copy(node, path, sha256))).await;
    let mut by_server: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, member) in cluster.members.iter().enumerate() {
        if !have[index] {
            by_server.entry(member.server.as_str()).or_default().push(index);
        }
    }
    by_server
}

/// Sends the program to the first of `indexes` (members on one server),
/// which passes it on to the others.
async fn copy_to_server(
    cluster: &OpenCluster,
    indexes: &[usize],
    binary: &[u8],
    path: &str,
    install: &str,
    progress: impl Fn(u64),
) -> Result<()> {
    let leader = &cluster.nodes[indexes[0]];
    let output = leader.exec_upload(install, binary, progress).await?;
    check_copy(&output, &leader.name)?;
    let fan_out = indexes[1..].iter().map(|&i| {
        let sibling = &cluster.members[i];
        let command = format!(
            "ssh {} {} < {}",
            sibling.hostname,
            shell_quote(install),
            shell_quote(path)
        );
        async move {
            let output = leader.exec(&command, &[]).await?;
            check_copy(&output, &sibling.hostname)
        }
    });
    join_all(fan_out).await.into_iter().collect()
}

/// Writes stdin to `path` atomically (through a temporary name of this
/// shell's own, so two runs never share one), verifies its checksum, keeps
/// it executable.
fn install_command(path: &str, sha256: &str) -> String {
    let path = shell_quote(path);
    format!(
        "mkdir -p {BIN_DIR} && t={path}.part.$$ && cat > $t && echo \"{sha256}  $t\" | sha256sum -c --quiet - \
         && chmod 755 $t && mv -f $t {path} || {{ rm -f $t; false; }}"
    )
}

fn check_copy(output: &Output, container: &str) -> Result<()> {
    if output.code != 0 {
        anyhow::bail!(
            "the program did not arrive intact on {container}: {}",
            output.stderr_text().trim()
        );
    }
    Ok(())
}

async fn has_copy(node: &Node, path: &str, sha256: &str) -> bool {
    let command = format!("test -x {p} && sha256sum {p}", p = shell_quote(path));
    match node.exec(&command, &[]).await {
        Ok(output) => output.code == 0 && output.stdout_text().starts_with(sha256),
        Err(_) => false,
    }
}
