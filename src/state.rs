//! Cluster state on the manager: settings, members and the private key, one
//! directory per cluster (mode 0700) under the state directory, which must
//! belong to the user and be private. Files are written whole or not at all
//! (a temporary file renamed into place), and one lock per cluster keeps a
//! deploy, repair or down from running beside another.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cluster::image::{Extension, default_image_ref};
use crate::cluster::members::KeyType;
use crate::cluster::members::Member;
use crate::cluster::plan::Subnet;
use crate::cluster::ports::PortBlock;
use crate::cluster::resources::Resources;
use crate::error::{ExitCode, UserError};

const STATE_FILE: &str = "cluster.json";
/// Which node image `init` or `image` last made here: deploy's default.
const NODE_IMAGE_FILE: &str = "node-image.json";

/// The node image this host was given, and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeImage {
    pub image: String,
    pub extension: Extension,
}

impl NodeImage {
    /// The command that builds this image on another server.
    pub fn build_command(&self) -> String {
        format!("swarmpi image{}", self.extension.flags())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    pub name: String,
    pub image: String,
    pub per_host: u32,
    pub slots: Option<u32>,
    pub key_type: KeyType,
    pub subnet: String,
    pub members: Vec<Member>,
    /// SHA-256 of the files every container got: a deploy that would give
    /// other files (a newer swarmpi's defaults) is not "unchanged".
    #[serde(default)]
    pub files_sha256: String,
    /// Per-container limits (none in a state written before they existed).
    #[serde(default)]
    pub resources: Resources,
    /// On the servers' own network (`deploy --network host`): the cluster's
    /// ports; None on the overlay.
    #[serde(default)]
    pub host_ports: Option<PortBlock>,
}

impl ClusterState {
    /// The overlay subnet the cluster was deployed on.
    pub fn subnet(&self) -> Result<Subnet> {
        Subnet::parse(&self.subnet)
            .map_err(|e| anyhow::anyhow!("{} in the state of cluster {}", e.message, self.name))
    }
}

/// Held while a deploy, repair or down works on a cluster; released on drop.
pub struct ClusterLock {
    _file: File,
}

pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: &Path) -> Self {
        StateDir {
            root: root.to_path_buf(),
        }
    }

    pub fn cluster_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates the cluster's directory (and the state directory), private
    /// to their owner.
    pub fn create(&self, name: &str) -> Result<PathBuf> {
        let dir = self.cluster_dir(name);
        create_private(&self.root)?;
        create_private(&dir)?;
        Ok(dir)
    }

    pub fn key_path(&self, name: &str, key_type: KeyType) -> PathBuf {
        self.cluster_dir(name).join(key_type.file_name())
    }

    /// The manager's own key for the gateway (no container holds it).
    pub fn gateway_key_path(&self, name: &str) -> PathBuf {
        self.cluster_dir(name).join("gateway_ed25519")
    }

    pub fn load(&self, name: &str) -> Result<Option<ClusterState>> {
        let dir = self.cluster_dir(name);
        for path in [&self.root, &dir] {
            if path.exists() {
                check_private(path)?;
            }
        }
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let state = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid cluster state", path.display()))?;
        Ok(Some(state))
    }

    /// The state of a cluster that must exist: a user error naming it if not.
    pub fn load_existing(&self, name: &str) -> Result<ClusterState> {
        self.load(name)?.ok_or_else(|| {
            UserError::new(
                ExitCode::ClusterNotReady,
                format!("there is no cluster named {name}"),
            )
            .hint("create it with `swarmpi deploy` (or pass --name)")
            .into()
        })
    }

    pub fn save(&self, state: &ClusterState) -> Result<()> {
        let dir = self.create(&state.name)?;
        let text = serde_json::to_string_pretty(state).expect("cluster state always serializes");
        write_atomically(&dir.join(STATE_FILE), text.as_bytes(), 0o600)
    }

    /// The node image recorded here, if `init` or `image` recorded one.
    pub fn node_image(&self) -> Result<Option<NodeImage>> {
        let path = self.root.join(NODE_IMAGE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("{} is not a valid node image record", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
        }
    }

    /// The node image deploy and doctor use: the recorded one, or the
    /// default this binary builds.
    pub fn node_image_or_default(&self) -> Result<NodeImage> {
        Ok(self.node_image()?.unwrap_or_else(|| NodeImage {
            image: default_image_ref(),
            extension: Extension::default(),
        }))
    }

    pub fn save_node_image(&self, record: &NodeImage) -> Result<()> {
        create_private(&self.root)?;
        let text = serde_json::to_string_pretty(record).expect("a node image record always serializes");
        write_atomically(&self.root.join(NODE_IMAGE_FILE), text.as_bytes(), 0o600)
    }

    pub fn remove(&self, name: &str) -> Result<bool> {
        let dir = self.cluster_dir(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("could not remove {}", dir.display())),
        }
    }

    /// The cluster's lock if it is free; otherwise the pid that holds it
    /// (as the holder wrote it). The lock file lives beside the cluster's
    /// directory, so `down` can remove that directory while holding it.
    pub fn try_lock(&self, name: &str) -> Result<Result<ClusterLock, String>> {
        create_private(&self.root)?;
        let path = self.root.join(format!("{name}.lock"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("could not open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                write!(file, "{}", std::process::id())?;
                Ok(Ok(ClusterLock { _file: file }))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(Err(std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string())),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("could not lock {}", path.display()))
            }
        }
    }
}

/// Creates `path` (mode 0700) unless it exists, and checks it is private.
fn create_private(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("could not create the state directory {}", path.display()))?;
    check_private(path)
}

/// Writes `bytes` to a temporary file (with `mode` from the start), then
/// renames it over `path`: readers see the old file or the new one, whole.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("could not create {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("could not write {}", path.display()))
}

/// Refuses a state directory that is not the user's own, or that others can
/// read: it holds the clusters' private keys.
fn check_private(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("could not read {}", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(UserError::usage(format!(
            "the state directory {} belongs to uid {}, not to you (uid {me})",
            path.display(),
            meta.uid()
        ))
        .hint("use a state directory of your own (--state-dir or SWARMPI_STATE_DIR)")
        .into());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(UserError::usage(format!(
            "the state directory {} is open to others (mode {mode:03o}); it holds private keys",
            path.display()
        ))
        .hint(format!("chmod 700 {}", path.display()))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("swarmpi-state-{tag}-{}", std::process::id()))
    }

    #[test]
    fn a_state_directory_open_to_others_is_refused() {
        let root = temp_root("open");
        let states = StateDir::new(&root);
        states.create("mpi").unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = states.load("mpi").unwrap_err();
        let user = error.downcast_ref::<UserError>().unwrap();
        assert!(
            user.message.contains("is open to others (mode 755)"),
            "{}",
            user.message
        );
        assert_eq!(
            user.hint.as_deref(),
            Some(format!("chmod 700 {}", root.display()).as_str())
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn one_lock_per_cluster_and_it_names_its_holder() {
        let root = temp_root("lock");
        let states = StateDir::new(&root);
        let held = states
            .try_lock("mpi")
            .unwrap()
            .unwrap_or_else(|holder| panic!("held by {holder}"));
        let other = StateDir::new(&root).try_lock("mpi").unwrap();
        assert_eq!(other.err(), Some(std::process::id().to_string()));
        assert!(
            states.try_lock("beta").unwrap().is_ok(),
            "another cluster's lock is its own"
        );
        drop(held);
        assert!(states.try_lock("mpi").unwrap().is_ok(), "released on drop");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn state_is_written_whole_and_private() {
        let root = temp_root("save");
        let states = StateDir::new(&root);
        let state = ClusterState {
            name: "mpi".into(),
            image: "img".into(),
            per_host: 2,
            slots: None,
            key_type: KeyType::Rsa,
            subnet: "10.0.1.0/24".into(),
            members: vec![],
            files_sha256: String::new(),
            resources: Resources {
                cpus: Some(1.5),
                memory: Some(1 << 30),
                shm: None,
            },
            host_ports: Some(PortBlock { base: 20512 }),
        };
        states.save(&state).unwrap();
        assert_eq!(states.load("mpi").unwrap(), Some(state));
        let file = root.join("mpi").join(STATE_FILE);
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = std::fs::read_dir(root.join("mpi")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
