//! `swarmpi cp`, with docker cp's shape: a file or directory from one
//! container to the manager, or from the manager into one container or
//! every container of a cluster. Whatever arrives is written under a
//! temporary name and renamed into place, so a failed copy leaves nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};

use super::project::Tree;
use super::{Delivered, deliver, helper};
use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::program::shell_quote;
use crate::error::UserError;
use crate::printer::Printer;

/// Puts `tree` at `dest` in the containers `targets` (indexes), once per
/// server then over the overlay.
pub async fn put(
    cluster: &OpenCluster,
    targets: &[usize],
    tree: &Tree,
    dest: &str,
    printer: &Printer,
) -> Result<Delivered> {
    let mut by_server: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for &index in targets {
        by_server
            .entry(&cluster.members[index].server)
            .or_default()
            .push(index);
    }
    let all = tree.manifest.files.keys().cloned().collect();
    let archive = tree.archive(&all, false)?;
    let groups = by_server
        .into_values()
        .map(|indexes| (indexes, archive.clone()))
        .collect();
    deliver(cluster, groups, &helper(&["put", dest]), printer, "copying").await
}

/// Fetches `source` (a file or directory) from container `index` to the
/// local `dest`, as docker cp names it; returns the path written and its
/// size in bytes.
pub async fn fetch(
    cluster: &OpenCluster,
    index: usize,
    source: &str,
    dest: &Path,
    printer: &Printer,
) -> Result<(PathBuf, u64)> {
    let node = &cluster.nodes[index];
    let container = &cluster.members[index].hostname;
    let source = source.trim_end_matches('/');
    let quoted = shell_quote(source);
    let size = node.exec(&format!("du -sb -- {quoted}"), &[]).await?;
    if size.code != 0 {
        return Err(UserError::usage(format!("container {container} has no {source}"))
            .hint(format!(
                "paths without a leading '/' start at {}",
                crate::cluster::layout::HOME
            ))
            .into());
    }
    let total: u64 = size
        .stdout_text()
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let name = source.rsplit('/').next().unwrap_or(source).to_string();
    let target = local_target(dest, &name)?;
    let staging = Staging::new(target.parent().unwrap_or(Path::new(".")))?;
    let archive_path = staging.path.join("archive.tar");
    let command = format!(
        "cd -- {} && tar -cf - -- {}",
        shell_quote(parent_of(source)),
        shell_quote(&name)
    );
    let bar =
        (total > super::BAR_THRESHOLD).then(|| printer.byte_bar(total, format!("copying from {container}")));
    let code = download(node, &command, &archive_path, bar.as_ref(), printer).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let code = code?;
    anyhow::ensure!(
        code == 0,
        "tar on {container} failed (exit {code}) reading {source}"
    );
    let unpacked = staging.path.join("unpacked");
    tar::Archive::new(fs::File::open(&archive_path)?)
        .unpack(&unpacked)
        .with_context(|| format!("could not unpack what came from {container}"))?;
    place(&unpacked.join(&name), &target)?;
    Ok((target, total))
}

/// Runs `command` on `node`, writing its stdout to the file `to`; returns
/// its exit status.
async fn download(
    node: &crate::ssh::Node,
    command: &str,
    to: &Path,
    bar: Option<&indicatif::ProgressBar>,
    printer: &Printer,
) -> Result<u32> {
    let mut file = fs::File::create(to).with_context(|| format!("could not write {}", to.display()))?;
    let mut write_error = None;
    let code = node
        .exec_with(command, &[], |is_stderr, bytes| {
            if is_stderr {
                printer.passthrough(true, bytes);
            } else if let Err(e) = std::io::Write::write_all(&mut file, bytes) {
                write_error.get_or_insert(e);
            } else if let Some(bar) = bar {
                bar.inc(bytes.len() as u64);
            }
        })
        .await?;
    match write_error {
        Some(e) => Err(e).with_context(|| format!("could not write {}", to.display())),
        None => Ok(code),
    }
}

/// Where a fetched `name` goes: into `dest` if it is a directory, else at
/// `dest` itself (its directory must exist, as docker cp wants).
fn local_target(dest: &Path, name: &str) -> Result<PathBuf> {
    if dest.is_dir() {
        return Ok(dest.join(name));
    }
    let shown = dest.display();
    if dest.to_string_lossy().ends_with('/') {
        return Err(
            UserError::usage(format!("destination directory {shown} does not exist"))
                .hint("create it first, or name the file to write")
                .into(),
        );
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(UserError::usage(format!(
            "there is no directory {} to write {shown} in",
            parent.display()
        ))
        .into());
    }
    Ok(dest.to_path_buf())
}

/// Moves what was unpacked into place: a file by one rename; a directory
/// by one rename if new, else file by file into the existing one.
fn place(from: &Path, to: &Path) -> Result<()> {
    let fail = |e: std::io::Error| anyhow!("could not put {}: {e}", to.display());
    if from.is_dir() && to.is_dir() {
        for entry in fs::read_dir(from).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            place(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if to.is_dir() {
        return Err(UserError::usage(format!(
            "{} is a directory: cannot write a file over it",
            to.display()
        ))
        .into());
    }
    fs::rename(from, to).map_err(fail)
}

fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((parent, _)) => parent,
        None => ".",
    }
}

/// A private directory beside the destination, removed when dropped
/// (whatever was not renamed out of it goes with it).
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(parent: &Path) -> Result<Staging> {
        let path = parent.join(format!(".swarmpi-cp-{}", digest::hex(&rand::random::<[u8; 6]>())));
        fs::create_dir(&path).with_context(|| format!("could not write in {}", parent.display()))?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_remote_parent() {
        assert_eq!(parent_of("/home/mpi/out.dat"), "/home/mpi");
        assert_eq!(parent_of("/out"), "/");
        assert_eq!(parent_of("out"), ".");
    }
}
