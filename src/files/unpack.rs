//! Unpacking a tree a container sent into a private staging directory of
//! the manager, never trusting it: paths checked by `cluster::fetched`,
//! files and directories created new (nothing is followed, nothing
//! overwritten), links made last and only those that stay inside, modes
//! masked. What was skipped is reported by name.

use std::collections::HashSet;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};

use crate::cluster::fetched::{self, Rel};

/// What an unpack left out, by entry name.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Links whose target is absolute or leaves the tree.
    pub links: Vec<String>,
    /// Devices, fifos and hard links to what is not in the tree.
    pub others: Vec<String>,
}

/// Unpacks the tar `archive` under `into` (an empty private directory).
/// `container` names the sender in errors.
pub fn unpack(archive: impl Read, into: &Path, container: &str) -> Result<Skipped> {
    let umask = umask();
    let mut skipped = Skipped::default();
    let mut links: Vec<(Rel, String)> = vec![];
    let mut modes: Vec<(PathBuf, u32, bool)> = vec![];
    let mut archive = tar::Archive::new(archive);
    let entries = archive
        .entries()
        .with_context(|| format!("could not read what came from {container}"))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("could not read what came from {container}"))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let rel = fetched::entry_path(&name)
            .map_err(|why| anyhow!("{container} sent {why}: refused, nothing was written"))?;
        let path = rel.iter().fold(into.to_path_buf(), |p, part| p.join(part));
        let mode = entry.header().mode().unwrap_or(0o644);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            make_dir(&path, into)?;
            modes.push((path, mode, true));
        } else if kind.is_file() {
            make_dir(path.parent().unwrap_or(into), into)?;
            write_new(&path, &mut entry)?;
            modes.push((path, mode, false));
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned());
            links.push((rel, target.unwrap_or_default()));
        } else if kind.is_hard_link() && copy_hard_link(&entry, &path, into)? {
            modes.push((path, mode, false));
        } else {
            skipped.others.push(name);
        }
    }
    make_links(into, links, &mut skipped)?;
    // Last, so a read-only directory never stops its own files' writing.
    for (path, mode, is_dir) in modes.iter().rev() {
        let mode = fetched::local_mode(*mode, umask, *is_dir);
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("could not set the mode of {}", path.display()))?;
    }
    Ok(skipped)
}

/// Creates `dir` and its missing parents below `top`, each new and real.
fn make_dir(dir: &Path, top: &Path) -> Result<()> {
    if dir == top || fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    make_dir(dir.parent().unwrap_or(top), top)?;
    DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))
}

/// Writes a new file (refusing one that exists: no entry may overwrite
/// another or write through a link).
fn write_new(path: &Path, from: &mut impl Read) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("could not write {} (twice in the archive?)", path.display()))?;
    std::io::copy(from, &mut file).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

/// A hard link to a file already unpacked in the tree becomes a copy of
/// it; false when its target is not such a file.
fn copy_hard_link(entry: &tar::Entry<impl Read>, path: &Path, into: &Path) -> Result<bool> {
    let Some(target) = entry.link_name_bytes() else {
        return Ok(false);
    };
    let Ok(rel) = fetched::entry_path(&String::from_utf8_lossy(&target)) else {
        return Ok(false);
    };
    let source = rel.iter().fold(into.to_path_buf(), |p, part| p.join(part));
    if !fs::symlink_metadata(&source).is_ok_and(|m| m.is_file()) {
        return Ok(false);
    }
    make_dir(path.parent().unwrap_or(into), into)?;
    write_new(path, &mut fs::File::open(&source)?)?;
    Ok(true)
}

/// Makes the links that stay inside the tree; names the others.
fn make_links(into: &Path, links: Vec<(Rel, String)>, skipped: &mut Skipped) -> Result<()> {
    let all: HashSet<Rel> = links.iter().map(|(rel, _)| rel.clone()).collect();
    for (rel, target) in links {
        if !fetched::link_stays_inside(&rel, &target, &all) {
            skipped.links.push(format!("{} -> {target}", rel.join("/")));
            continue;
        }
        let path = rel.iter().fold(into.to_path_buf(), |p, part| p.join(part));
        make_dir(path.parent().unwrap_or(into), into)?;
        std::os::unix::fs::symlink(&target, &path)
            .with_context(|| format!("could not create the link {}", path.display()))?;
    }
    Ok(())
}

/// This process's umask, as the kernel reports it (022 if it cannot).
fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line.split_whitespace().nth(1)?, 8).ok()
        })
        .unwrap_or(0o022)
}
