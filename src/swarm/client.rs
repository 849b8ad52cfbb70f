//! The connection to one Docker daemon, found the way the docker CLI finds it.

use std::time::Duration;

use anyhow::Result;
use bollard::Docker;

use crate::config::Settings;
use crate::error::{ExitCode, UserError};

/// How long a plain request may take before the daemon counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Every request to the daemon ends within this (a hung daemon then names
/// itself instead of stalling the command).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Long enough for an image build streamed over one request.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// A connected, version-negotiated Docker daemon.
#[derive(Clone)]
pub struct Engine {
    /// Only the swarm module builds requests.
    pub(super) docker: Docker,
    /// The endpoint as the user gave it, for messages.
    pub endpoint: String,
}

impl Engine {
    pub async fn connect(settings: &Settings) -> Result<Engine> {
        let endpoint = settings.docker_endpoint().to_string();
        let unreachable = |cause: String| {
            let hint = unreachable_hint(&cause);
            UserError::new(
                ExitCode::DockerUnreachable,
                format!("cannot reach the Docker daemon at {endpoint}: {cause}"),
            )
            .hint(hint)
        };
        let docker = match &settings.docker_host {
            Some(host) => Docker::connect_with_host(host),
            None => Docker::connect_with_local_defaults(),
        }
        .map_err(|e| unreachable(e.to_string()))?
        .with_timeout(REQUEST_TIMEOUT);
        let docker = tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10 s".into()))?
            .map_err(|e| unreachable(root_cause(&e)))?;
        Ok(Engine { docker, endpoint })
    }

    /// The same daemon with the long bound an image build needs.
    pub(super) fn for_builds(&self) -> Docker {
        self.docker.clone().with_timeout(BUILD_TIMEOUT)
    }
}

/// What to do when the daemon cannot be reached, by why.
fn unreachable_hint(cause: &str) -> &'static str {
    if cause.contains("Permission denied") || cause.contains("permission denied") {
        "Docker runs, but your user may not use its socket: add yourself to the docker group \
         (`sudo usermod -aG docker $USER`, then log in again) or run swarmpi with sudo"
    } else {
        "start Docker on this host, or point DOCKER_HOST at a running daemon"
    }
}

/// The innermost message of a bollard error, which is what tells the user
/// something ("No such file or directory", "connection refused").
pub(super) fn root_cause(error: &bollard::errors::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// The message the daemon itself gave for a failed request.
pub(super) fn daemon_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => root_cause(other),
    }
}

/// True when the daemon answered 404 (no such object).
pub(super) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }
    )
}

#[cfg(test)]
mod tests {
    use super::unreachable_hint;

    #[test]
    fn a_refused_socket_is_told_from_a_stopped_daemon() {
        assert!(unreachable_hint("Permission denied (os error 13)").contains("docker group"));
        assert!(unreachable_hint("No such file or directory (os error 2)").starts_with("start Docker"));
    }
}
