//! Cluster state on the manager: settings, members and the private key, one
//! directory per cluster (mode 0700) under the state directory.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cluster::members::Member;
use crate::cluster::plan::Subnet;
use crate::error::{ExitCode, UserError};
use crate::ssh::keys::KeyType;

const STATE_FILE: &str = "cluster.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    pub name: String,
    pub image: String,
    pub per_host: u32,
    pub slots: Option<u32>,
    pub key_type: KeyType,
    pub subnet: String,
    pub members: Vec<Member>,
}

impl ClusterState {
    /// The overlay subnet the cluster was deployed on.
    pub fn subnet(&self) -> Result<Subnet> {
        Subnet::parse(&self.subnet)
            .map_err(|e| anyhow::anyhow!("{} in the state of cluster {}", e.message, self.name))
    }
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

    /// Creates the cluster's directory, private to its owner.
    pub fn create(&self, name: &str) -> Result<PathBuf> {
        let dir = self.cluster_dir(name);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("could not create the state directory {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("could not restrict {}", dir.display()))?;
        Ok(dir)
    }

    pub fn key_path(&self, name: &str, key_type: KeyType) -> PathBuf {
        self.cluster_dir(name).join(key_type.file_name())
    }

    pub fn load(&self, name: &str) -> Result<Option<ClusterState>> {
        let path = self.cluster_dir(name).join(STATE_FILE);
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
        let path = dir.join(STATE_FILE);
        let text = serde_json::to_string_pretty(state).expect("cluster state always serializes");
        std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))
    }

    pub fn remove(&self, name: &str) -> Result<bool> {
        let dir = self.cluster_dir(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("could not remove {}", dir.display())),
        }
    }
}
