//! Putting a program in every container that lacks it, through the one
//! fan-out (once per server, then sibling to sibling). Every copy is
//! checked with SHA-256 on arrival and renamed into place.

use std::collections::BTreeMap;

use anyhow::Result;
use futures_util::future::join_all;

use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::BIN_DIR;
use crate::cluster::remote::Remote;
use crate::fanout::{self, Group};
use crate::printer::Printer;
use crate::ssh::Node;

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
    let groups: Vec<Group> = by_server
        .into_values()
        .map(|members| Group {
            members,
            payload: binary,
        })
        .collect();
    let install = install_command(path, &sha256);
    let fanned = fanout::fan_out(cluster, &groups, &install, "copying the program", printer).await?;
    for (index, answer) in &fanned.answers {
        if answer.code != 0 {
            anyhow::bail!(
                "the program did not arrive intact on {}: {}",
                cluster.members[*index].hostname,
                answer.stderr_text()
            );
        }
    }
    printer.info(format!(
        "copied {path} ({} bytes) to {} container(s); {} bytes left the manager",
        binary.len(),
        fanned.answers.len(),
        fanned.bytes
    ));
    Ok(())
}

/// The members lacking the program, grouped by server.
async fn missing_by_server<'a>(
    cluster: &'a OpenCluster,
    path: &str,
    sha256: &str,
) -> BTreeMap<&'a str, Vec<usize>> {
    let have = join_all(cluster.members.iter().map(|m| has_copy(&m.node, path, sha256))).await;
    let mut by_server: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, member) in cluster.members.iter().enumerate() {
        if !have[index] {
            by_server.entry(member.server.as_str()).or_default().push(index);
        }
    }
    by_server
}

/// Writes stdin to `path` atomically (through a temporary name of this
/// shell's own, so two runs never share one), verifies its checksum, keeps
/// it executable.
fn install_command(path: &str, sha256: &str) -> Remote {
    Remote::script(
        "mkdir -p {} && t={}.part.$$ && cat > \"$t\" && echo {}\"  $t\" | sha256sum -c --quiet - \
         && chmod 755 \"$t\" && mv -f \"$t\" {} || { rm -f \"$t\"; false; }",
        &[BIN_DIR, path, sha256, path],
    )
}

async fn has_copy(node: &Node, path: &str, sha256: &str) -> bool {
    let check = Remote::script("test -x {} && sha256sum -- {}", &[path, path]);
    match node.ask("checking the program's copy", &check, &[]).await {
        Ok(output) => output.code == 0 && output.stdout_text().starts_with(sha256),
        Err(_) => false,
    }
}
