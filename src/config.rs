//! Settings resolved once from flags, environment and defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::GlobalArgs;

/// What every command may need, resolved before any work starts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Docker endpoint, as the docker CLI reads it.
    pub docker_host: Option<String>,
    /// Where cluster state lives on the manager.
    pub state_dir: PathBuf,
    /// How long an internal step waits for a container that sends nothing
    /// (`SWARMPI_ANSWER_TIMEOUT`, seconds; default 60).
    pub answer_timeout: Duration,
}

/// The default of [`Settings::answer_timeout`].
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

impl Settings {
    pub fn resolve(global: &GlobalArgs) -> Self {
        let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
        Settings {
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            state_dir,
            answer_timeout: std::env::var("SWARMPI_ANSWER_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .filter(|&s| s > 0)
                .map_or(ANSWER_TIMEOUT, Duration::from_secs),
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
