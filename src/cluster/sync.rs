//! Deciding what a sync sends: the manager's files against what each
//! container reports, what travels to each server, and the file lists the
//! container-side helper reads (`files/helper.py`). No I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One regular file: its SHA-256 and permission bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState(pub String, pub u32);

/// A project's files by path relative to its root ('/'-separated), and its
/// directories (so empty ones exist in the containers too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub files: BTreeMap<String, FileState>,
    pub dirs: BTreeSet<String>,
}

impl Manifest {
    /// Everything a sync puts in a container: files, and directories with a
    /// trailing '/'. The helper deletes what the last list had and this one
    /// lacks.
    pub fn synced_list(&self) -> Vec<String> {
        let dirs = self.dirs.iter().map(|d| format!("{d}/"));
        self.files.keys().cloned().chain(dirs).collect()
    }
}

/// What a container's helper answered to `query`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Report {
    /// Whether the project's directory exists there.
    pub exists: bool,
    pub files: BTreeMap<String, FileState>,
    pub synced: Vec<String>,
}

/// What one container needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Need {
    /// Files it lacks or holds with other bytes or mode.
    pub send: BTreeSet<String>,
    /// What the last sync put there that the manager no longer has.
    pub delete: BTreeSet<String>,
    /// Its recorded list differs (a directory came or went), or it has no
    /// project directory yet (an empty project still gets one).
    pub relist: bool,
}

impl Need {
    pub fn is_empty(&self) -> bool {
        self.send.is_empty() && self.delete.is_empty() && !self.relist
    }
}

pub fn need(local: &Manifest, report: &Report) -> Need {
    let send = local
        .files
        .iter()
        .filter(|(path, state)| report.files.get(*path) != Some(state))
        .map(|(path, _)| path.clone())
        .collect();
    let list: BTreeSet<String> = local.synced_list().into_iter().collect();
    let previous: BTreeSet<String> = report.synced.iter().cloned().collect();
    let delete = previous.difference(&list).cloned().collect();
    Need {
        send,
        delete,
        relist: list != previous || !report.exists,
    }
}

/// For each server, the containers (indexes) needing anything and the
/// union of the files they lack: what is sent once to that server.
pub fn by_server<'a>(
    servers: impl IntoIterator<Item = &'a str>,
    needs: &[Need],
) -> BTreeMap<&'a str, (Vec<usize>, BTreeSet<String>)> {
    let mut grouped: BTreeMap<&str, (Vec<usize>, BTreeSet<String>)> = BTreeMap::new();
    for (index, (server, need)) in servers.into_iter().zip(needs).enumerate() {
        if need.is_empty() {
            continue;
        }
        let entry = grouped.entry(server).or_default();
        entry.0.push(index);
        entry.1.extend(need.send.iter().cloned());
    }
    grouped
}

/// The helper's meta.json for an archive carrying `send`: their states,
/// every directory, and (for a sync) the full list to record.
pub fn meta(local: &Manifest, send: &BTreeSet<String>, record: bool) -> serde_json::Value {
    let files: BTreeMap<&String, &FileState> = send
        .iter()
        .filter_map(|path| local.files.get_key_value(path))
        .collect();
    let mut meta = serde_json::json!({ "files": files, "dirs": local.dirs });
    if record {
        meta["synced"] = serde_json::json!(local.synced_list());
    }
    meta
}

/// Checks a relative path from the manager's walk: helper and shell take
/// it whole, so no line breaks, and it stays under the root.
pub fn check_path(path: &str) -> Result<(), String> {
    if path.contains(['\n', '\r']) {
        return Err(format!("{path:?} has a line break in its name"));
    }
    if path.is_empty() || path.starts_with('/') || path.split('/').any(|part| part == "..") {
        return Err(format!("{path:?} is not a path inside the project"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
