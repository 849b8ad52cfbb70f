//! SSH sessions to the cluster: one to the gateway on the manager's loopback,
//! and through it one per container over the overlay network. Every session
//! checks the host key against the one the container printed at start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use russh::Disconnect;
use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use super::channel;
use super::keys::ClusterKey;
use crate::cluster::layout::MPI_USER;
use crate::cluster::remote::Remote;
use crate::error::{ExitCode, UserError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Authentication and opening a channel: each ends within this.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts exactly one host key: the one learned out of band.
pub struct PinnedHostKey {
    expected: PublicKey,
}

impl client::Handler for PinnedHostKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.key_data() == self.expected.key_data(),
            PublicKeyOrCertificate::Certificate(_) => false,
        })
    }
}

fn client_config() -> Arc<client::Config> {
    Arc::new(client::Config {
        inactivity_timeout: None,
        // A peer that stops answering mid-command (a job can run for hours,
        // so the command itself has no bound) ends the session within 30 s.
        keepalive_interval: Some(Duration::from_secs(10)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    })
}

fn parse_host_key(name: &str, text: &str) -> Result<PublicKey> {
    PublicKey::from_openssh(text.trim())
        .with_context(|| format!("the host key {name} reported is not valid: {text}"))
}

/// What went wrong connecting to `name`, in words a user can act on.
fn connect_error(name: &str, error: russh::Error) -> anyhow::Error {
    match error {
        russh::Error::UnknownKey => UserError::new(
            ExitCode::ClusterNotReady,
            format!("{name} offered a host key that is not the one it reported at start"),
        )
        .hint("a container was replaced or something answers in its place: run `swarmpi deploy` again")
        .into(),
        other => anyhow!(other).context(format!("could not open an SSH session to {name}")),
    }
}

async fn authenticate(handle: &mut Handle<PinnedHostKey>, name: &str, key: &ClusterKey) -> Result<()> {
    let key = key.private();
    let attempt = async {
        let hash = if key.algorithm().is_rsa() {
            handle.best_supported_rsa_hash().await?.flatten()
        } else {
            None
        };
        handle
            .authenticate_publickey(MPI_USER, PrivateKeyWithHashAlg::new(key, hash))
            .await
    };
    let result = tokio::time::timeout(STEP_TIMEOUT, attempt)
        .await
        .map_err(|_| {
            anyhow!(
                "{name} did not finish authentication within {} s",
                STEP_TIMEOUT.as_secs()
            )
        })?
        .with_context(|| format!("could not authenticate to {name}"))?;
    if !result.success() {
        return Err(UserError::new(
            ExitCode::ClusterNotReady,
            format!("{name} refused swarmpi's key for user {MPI_USER}"),
        )
        .hint("the container lacks the cluster's authorized key: run `swarmpi deploy` again")
        .into());
    }
    Ok(())
}

/// The SSH entry point: the gateway container, published on the manager's
/// loopback only.
#[derive(Clone)]
pub struct Gateway {
    handle: Arc<Handle<PinnedHostKey>>,
    /// The manager's key: the gateway lets it through, containers let it
    /// in (from their secret); it never leaves the manager.
    key: ClusterKey,
    /// Given to every [`Node`]: how long an internal step may wait for a
    /// container that sends nothing.
    silence: Duration,
}

impl Gateway {
    pub async fn connect(
        addr: SocketAddr,
        host_key: &str,
        manager_key: ClusterKey,
        silence: Duration,
    ) -> Result<Gateway> {
        let name = format!("the gateway at {addr}");
        let handler = PinnedHostKey {
            expected: parse_host_key(&name, host_key)?,
        };
        let mut handle =
            tokio::time::timeout(CONNECT_TIMEOUT, client::connect(client_config(), addr, handler))
                .await
                .map_err(|_| anyhow!("no SSH answer from {name} within 10 s"))?
                .map_err(|e| connect_error(&name, e))?;
        authenticate(&mut handle, &name, &manager_key).await?;
        Ok(Gateway {
            handle: Arc::new(handle),
            key: manager_key,
            silence,
        })
    }

    /// A session to a container, tunnelled through the gateway to its sshd
    /// at `addr` (an overlay address and 22, or its server's and the
    /// cluster's port).
    pub async fn node(&self, name: &str, addr: std::net::SocketAddrV4, host_key: &str) -> Result<Node> {
        let ip = addr.ip();
        let handler = PinnedHostKey {
            expected: parse_host_key(name, host_key)?,
        };
        let open = async {
            let channel = self
                .handle
                .channel_open_direct_tcpip(ip.to_string(), u32::from(addr.port()), "127.0.0.1", 0)
                .await
                .with_context(|| format!("the gateway could not reach {name} at {addr}"))?;
            client::connect_stream(client_config(), channel.into_stream(), handler)
                .await
                .map_err(|e| connect_error(name, e))
        };
        let mut handle = tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| anyhow!("no SSH answer from {name} ({ip}) within 10 s"))??;
        authenticate(&mut handle, name, &self.key).await?;
        Ok(Node {
            handle,
            name: name.to_string(),
            silence: self.silence,
        })
    }

    pub async fn close(&self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}

/// A session to one container, as the MPI user.
pub struct Node {
    handle: Handle<PinnedHostKey>,
    pub name: String,
    /// How long an internal step may wait for this container to send
    /// anything.
    silence: Duration,
}

/// The most stdout an internal answer may hold: more is refused, so a
/// container cannot make the manager run out of memory.
pub const ANSWER_LIMIT: usize = 16 << 20;
/// Of an internal answer's stderr (kept for error messages), this much.
const STDERR_KEPT: usize = 64 << 10;

/// What an internal command printed (bounded) and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    pub code: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Bytes of stderr past [`STDERR_KEPT`], dropped.
    pub stderr_dropped: u64,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The stderr kept, with a note of what was dropped.
    pub fn stderr_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr).trim().to_string();
        match self.stderr_dropped {
            0 => text,
            n => format!("{text} (and {n} more bytes)"),
        }
    }
}

impl Node {
    /// Runs the internal step `command` (`what` names it in errors, e.g.
    /// "listing jobs"), feeding it `stdin`: its answer is bounded in size
    /// ([`ANSWER_LIMIT`]) and in silence.
    pub async fn ask(&self, what: &str, command: &Remote, stdin: &[u8]) -> Result<Output> {
        self.ask_upload(what, command, stdin, |_| {}).await
    }

    /// [`Node::ask`] telling `sent` how many bytes of `bytes` went out
    /// after each chunk.
    pub async fn ask_upload(
        &self,
        what: &str,
        command: &Remote,
        bytes: &[u8],
        sent: impl Fn(u64),
    ) -> Result<Output> {
        self.ask_within(what, command, bytes, ANSWER_LIMIT, sent).await
    }

    /// [`Node::ask`] whose stdout may hold up to `limit` bytes (a compiled
    /// program).
    pub async fn ask_large(&self, what: &str, command: &Remote, limit: usize) -> Result<Output> {
        self.ask_within(what, command, &[], limit, |_| {}).await
    }

    async fn ask_within(
        &self,
        what: &str,
        command: &Remote,
        bytes: &[u8],
        limit: usize,
        sent: impl Fn(u64),
    ) -> Result<Output> {
        let mut output = Output::default();
        let name = &self.name;
        let sink = |is_stderr: bool, data: &[u8]| {
            if is_stderr {
                let room = STDERR_KEPT.saturating_sub(output.stderr.len()).min(data.len());
                output.stderr.extend_from_slice(&data[..room]);
                output.stderr_dropped += (data.len() - room) as u64;
            } else if output.stdout.len() + data.len() > limit {
                return Err(UserError::new(
                    ExitCode::ClusterNotReady,
                    format!(
                        "container {name} answered more than {} MiB while {what}: refused",
                        limit >> 20
                    ),
                )
                .hint(
                    "something in that container prints more than swarmpi asked for (a shell start-up file?)",
                )
                .into());
            } else {
                output.stdout.extend_from_slice(data);
            }
            Ok(())
        };
        let code = self
            .run(command, bytes, Some((self.silence, what)), sent, sink)
            .await?;
        output.code = code;
        Ok(output)
    }

    /// Runs `command` for the user, handing each piece of output to `sink`
    /// (true for stderr) as it arrives, with no bound on time (a job may be
    /// quiet for hours; keepalives still end a dead session); returns the
    /// exit status (128 + n when signal n killed it, like a shell).
    pub async fn stream(
        &self,
        command: &Remote,
        stdin: &[u8],
        mut sink: impl FnMut(bool, &[u8]),
    ) -> Result<u32> {
        let sink = |is_stderr: bool, data: &[u8]| {
            sink(is_stderr, data);
            Ok(())
        };
        self.run(command, stdin, None, |_| {}, sink).await
    }

    async fn run(
        &self,
        command: &Remote,
        stdin: &[u8],
        silence: Option<(Duration, &str)>,
        sent: impl Fn(u64),
        sink: impl FnMut(bool, &[u8]) -> Result<()>,
    ) -> Result<u32> {
        let opened = tokio::time::timeout(STEP_TIMEOUT, self.handle.channel_open_session())
            .await
            .map_err(|_| {
                anyhow!(
                    "{} did not open a channel within {} s",
                    self.name,
                    STEP_TIMEOUT.as_secs()
                )
            })?
            .with_context(|| format!("could not open a channel to {}", self.name))?;
        channel::run(opened, &self.name, command.as_str(), stdin, silence, sent, sink).await
    }

    pub async fn close(&self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}
