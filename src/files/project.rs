//! Files on the manager, walked and hashed (a project directory, or what
//! `cp` sends), and the archives (meta.json then `f/<path>` entries) the
//! container-side helper applies.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cluster::archive::{self, Entry};
use crate::cluster::digest;
use crate::cluster::layout;
use crate::cluster::program;
use crate::cluster::sync::{self, FileState, Manifest};
use crate::error::UserError;
use crate::printer::Printer;

/// Files read on the manager, by path relative to `base`.
#[derive(Debug, Default)]
pub struct Tree {
    pub base: PathBuf,
    pub manifest: Manifest,
    /// Symbolic links met (not sent).
    pub skipped_links: Vec<String>,
}

impl Tree {
    /// One warning for the symbolic links met (they are not sent).
    pub fn warn_skipped(&self, printer: &Printer) {
        if let Some(first) = self.skipped_links.first() {
            printer.warn(format!(
                "{} symbolic link(s) not sent (e.g. {first}): copy what they point to instead",
                self.skipped_links.len()
            ));
        }
    }

    /// One file or a whole directory, under its own name: `dir/x` holds
    /// `x/...` entries, a file `f` the one entry `f`.
    pub fn read(path: &Path) -> Result<Tree> {
        let shown = path.display().to_string();
        let metadata = fs::metadata(path).map_err(|e| {
            UserError::usage(format!("cannot read {shown}: {e}")).hint("check the path on this machine")
        })?;
        let full = fs::canonicalize(path).with_context(|| format!("could not resolve {shown}"))?;
        let name = usable_name(&full, &shown)?;
        let base = full.parent().map(Path::to_path_buf).unwrap_or_else(|| "/".into());
        let mut tree = Tree {
            base,
            ..Tree::default()
        };
        if metadata.is_dir() {
            tree.manifest.dirs.insert(name.clone());
            tree.walk(&full, &format!("{name}/"))?;
        } else {
            tree.manifest.files.insert(name, file_state(&full)?);
        }
        Ok(tree)
    }

    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<()> {
        let entries = fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("could not read {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            sync::check_path(&relative).map_err(|why| {
                UserError::usage(format!("cannot send {}: {why}", entry.path().display())).hint("rename it")
            })?;
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                self.skipped_links.push(relative);
            } else if kind.is_dir() {
                self.manifest.dirs.insert(relative.clone());
                self.walk(&entry.path(), &format!("{relative}/"))?;
            } else if kind.is_file() {
                let state = file_state(&entry.path())?;
                self.manifest.files.insert(relative, state);
            }
        }
        Ok(())
    }

    /// The archive carrying `send` (read again from disk), and the list to
    /// record if `record`.
    pub fn archive(&self, send: &BTreeSet<String>, record: bool) -> Result<Vec<u8>> {
        let meta = sync::meta(&self.manifest, send, record).to_string();
        let mut files = vec![("meta.json".to_string(), meta.into_bytes(), 0o644)];
        for path in send {
            let full = self.base.join(path);
            let bytes = fs::read(&full).with_context(|| format!("could not read {}", full.display()))?;
            let FileState(sha256, mode) = &self.manifest.files[path];
            anyhow::ensure!(
                digest::sha256_hex(&bytes) == *sha256,
                "{} changed while it was being sent: try again",
                full.display()
            );
            files.push((format!("f/{path}"), bytes, *mode));
        }
        let entries: Vec<Entry<'_>> = files
            .iter()
            .map(|(path, bytes, mode)| Entry::file(path, bytes, *mode))
            .collect();
        Ok(archive::pack(&entries)?)
    }

    pub fn total_bytes(&self) -> u64 {
        let sizes = self
            .manifest
            .files
            .keys()
            .map(|p| fs::metadata(self.base.join(p)).map_or(0, |m| m.len()));
        sizes.sum()
    }
}

/// A project directory on the manager: its files relative to itself.
#[derive(Debug)]
pub struct Project {
    /// The directory's name: the project is at `layout::project_dir(name)`.
    pub name: String,
    pub tree: Tree,
}

impl Project {
    pub fn scan(dir: &Path) -> Result<Project> {
        let shown = dir.display().to_string();
        let metadata = fs::metadata(dir).map_err(|e| {
            UserError::usage(format!("cannot read project directory {shown}: {e}"))
                .hint("give the path of a directory on this machine")
        })?;
        if !metadata.is_dir() {
            return Err(UserError::usage(format!("{shown} is not a directory"))
                .hint("a project is a directory; to put one file in the containers use `swarmpi cp FILE CLUSTER:PATH`")
                .into());
        }
        let root = fs::canonicalize(dir).with_context(|| format!("could not resolve {shown}"))?;
        let name = usable_name(&root, &shown)?;
        let mut tree = Tree {
            base: root.clone(),
            ..Tree::default()
        };
        tree.walk(&root, "")?;
        Ok(Project { name, tree })
    }

    /// The project's directory in every container.
    pub fn remote_dir(&self) -> String {
        layout::project_dir(&self.name)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.tree.manifest
    }
}

fn usable_name(full: &Path, shown: &str) -> Result<String> {
    program::remote_file_name(full).map_err(|_| {
        UserError::usage(format!("the name of {shown} is not usable in the cluster"))
            .hint("rename it to letters, digits, '.', '_', '-' and '+'")
            .into()
    })
}

/// The SHA-256 and permission bits of one file, read in blocks.
pub fn file_state(path: &Path) -> Result<FileState> {
    use sha2::Digest;
    let mut file = fs::File::open(path).with_context(|| format!("could not read {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut block)
            .with_context(|| format!("could not read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    let mode = file.metadata()?.permissions().mode() & 0o777;
    Ok(FileState(digest::hex(&hasher.finalize()), mode))
}
