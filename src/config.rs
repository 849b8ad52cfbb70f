//! Settings resolved once from flags, environment and defaults.

use std::path::PathBuf;

use crate::cli::GlobalArgs;

/// What every command may need, resolved before any work starts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Docker endpoint, as the docker CLI reads it.
    pub docker_host: Option<String>,
    /// Where cluster state lives on the manager.
    pub state_dir: PathBuf,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs) -> Self {
        let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
        Settings {
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            state_dir,
        }
    }

    /// A human name for the Docker endpoint, for messages.
    pub fn docker_endpoint(&self) -> &str {
        self.docker_host
            .as_deref()
            .unwrap_or("unix:///var/run/docker.sock")
    }
}

/// `$XDG_STATE_HOME/swarmpi`, else `~/.local/state/swarmpi`.
fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("swarmpi");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".local/state/swarmpi")
}
