//! `swarmpi cp`, with docker cp's shape: a file or directory from one
//! container to the manager, or from the manager into one container or
//! every container of a cluster. Whatever arrives is written under a
//! temporary name and renamed into place, so a failed copy leaves nothing.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};

use super::project::Tree;
use super::unpack::{self, Skipped};
use super::{Delivered, deliver, helper};
use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::remote::Remote;
use crate::error::UserError;
use crate::fanout::{BAR_THRESHOLD, Group};
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
    let groups: Vec<Group> = by_server
        .into_values()
        .map(|members| Group {
            members,
            payload: &archive,
        })
        .collect();
    deliver(cluster, &groups, &helper(&["put", dest]), printer, "copying").await
}

/// Fetches `source` (a file or directory) from container `index` to the
/// local `dest`, as docker cp names it; returns the path written and its
/// size in bytes. Nothing is written outside `dest`, whatever the
/// container's tree holds.
pub async fn fetch(
    cluster: &OpenCluster,
    index: usize,
    source: &str,
    dest: &Path,
    printer: &Printer,
) -> Result<(PathBuf, u64)> {
    let node = &cluster.members[index].node;
    let container = &cluster.members[index].hostname;
    let source = source.trim_end_matches('/');
    let total = remote_size(node, container, source).await?;
    let name = source.rsplit('/').next().unwrap_or(source).to_string();
    let target = local_target(dest, &name)?;
    let staging = Staging::new(target.parent().unwrap_or(Path::new(".")))?;
    let archive_path = staging.path.join("archive.tar");
    let command = Remote::script("cd -- {} && tar -cf - -- {}", &[parent_of(source), &name]);
    let bar = (total > BAR_THRESHOLD).then(|| printer.byte_bar(total, format!("copying from {container}")));
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
    fs::DirBuilder::new().mode(0o700).create(&unpacked)?;
    let archive = fs::File::open(&archive_path)?;
    let skipped = unpack::unpack(std::io::BufReader::new(archive), &unpacked, container)?;
    report_skipped(&skipped, container, printer);
    let top = unpacked.join(&name);
    if fs::symlink_metadata(&top).is_ok_and(|m| m.file_type().is_symlink()) || !top.exists() {
        return Err(UserError::usage(format!(
            "{container}:{source} is a symbolic link, not a file or directory"
        ))
        .hint("fetch the path it points to")
        .into());
    }
    place(&top, &target)?;
    Ok((target, total))
}

/// The size of `source` in the container, or a usage error if it has none.
async fn remote_size(node: &crate::ssh::Node, container: &str, source: &str) -> Result<u64> {
    let size = node
        .ask(
            "measuring what to copy",
            &Remote::argv(["du", "-sb", "--", source]),
            &[],
        )
        .await?;
    if size.code != 0 {
        return Err(UserError::usage(format!("container {container} has no {source}"))
            .hint(format!(
                "paths without a leading '/' start at {}",
                crate::cluster::layout::HOME
            ))
            .into());
    }
    Ok(size
        .stdout_text()
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// One warning per kind of entry left out, naming a few.
fn report_skipped(skipped: &Skipped, container: &str, printer: &Printer) {
    let name_some = |names: &[String]| {
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more = names.len().saturating_sub(3);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    if !skipped.links.is_empty() {
        printer.warn(format!(
            "left out {} symbolic link(s) from {container} pointing outside what was copied: {}",
            skipped.links.len(),
            name_some(&skipped.links)
        ));
    }
    if !skipped.others.is_empty() {
        printer.warn(format!(
            "left out {} entry(ies) from {container} that are not files, directories or links: {}",
            skipped.others.len(),
            name_some(&skipped.others)
        ));
    }
}

/// Runs `command` on `node`, writing its stdout to the file `to`; returns
/// its exit status.
async fn download(
    node: &crate::ssh::Node,
    command: &Remote,
    to: &Path,
    bar: Option<&indicatif::ProgressBar>,
    printer: &Printer,
) -> Result<u32> {
    let mut file = fs::File::create(to).with_context(|| format!("could not write {}", to.display()))?;
    let mut write_error = None;
    let code = node
        .stream(command, &[], |is_stderr, bytes| {
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
/// by one rename if new, else entry by entry into the existing one. No
/// link at the destination is ever followed: one in the way is replaced.
fn place(from: &Path, to: &Path) -> Result<()> {
    let fail = |e: std::io::Error| anyhow!("could not put {}: {e}", to.display());
    let from_is_dir = fs::symlink_metadata(from).map_err(fail)?.is_dir();
    match fs::symlink_metadata(to) {
        Ok(there) if there.is_dir() && from_is_dir => {
            for entry in fs::read_dir(from).map_err(fail)? {
                let entry = entry.map_err(fail)?;
                place(&entry.path(), &to.join(entry.file_name()))?;
            }
            return Ok(());
        }
        Ok(there) if there.is_dir() => {
            return Err(UserError::usage(format!(
                "{} is a directory: cannot write a file over it",
                to.display()
            ))
            .into());
        }
        Ok(there) if from_is_dir && !there.file_type().is_symlink() => {
            return Err(UserError::usage(format!(
                "{} is a file: cannot write a directory over it",
                to.display()
            ))
            .into());
        }
        Ok(there) if there.file_type().is_symlink() => fs::remove_file(to).map_err(fail)?,
        _ => {}
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
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("could not write in {}", parent.display()))?;
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
