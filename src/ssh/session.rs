//! SSH sessions to the cluster: one to the gateway on the manager's loopback,
//! and through it one per container over the overlay network. Every session
//! checks the host key against the one the container printed at start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};

use crate::error::{ExitCode, UserError};

/// The user MPI runs as in the node image.
pub const MPI_USER: &str = "mpi";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upload chunk size: small enough for a smooth progress bar.
const UPLOAD_CHUNK: usize = 256 * 1024;

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
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 4,
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

async fn authenticate(handle: &mut Handle<PinnedHostKey>, name: &str, key: &Arc<PrivateKey>) -> Result<()> {
    let hash = if key.algorithm().is_rsa() {
        handle.best_supported_rsa_hash().await?.flatten()
    } else {
        None
    };
    let result = handle
        .authenticate_publickey(MPI_USER, PrivateKeyWithHashAlg::new(key.clone(), hash))
        .await
        .with_context(|| format!("could not authenticate to {name}"))?;
    if !result.success() {
        return Err(UserError::new(
            ExitCode::ClusterNotReady,
            format!("{name} refused the cluster key for user {MPI_USER}"),
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
    key: Arc<PrivateKey>,
}

impl Gateway {
    pub async fn connect(addr: SocketAddr, host_key: &str, key: Arc<PrivateKey>) -> Result<Gateway> {
        let name = format!("the gateway at {addr}");
        let handler = PinnedHostKey {
            expected: parse_host_key(&name, host_key)?,
        };
        let mut handle =
            tokio::time::timeout(CONNECT_TIMEOUT, client::connect(client_config(), addr, handler))
                .await
                .map_err(|_| anyhow!("no SSH answer from {name} within 10 s"))?
                .map_err(|e| connect_error(&name, e))?;
        authenticate(&mut handle, &name, &key).await?;
        Ok(Gateway {
            handle: Arc::new(handle),
            key,
        })
    }

    /// A session to a container, tunnelled through the gateway to `ip:22`.
    pub async fn node(&self, name: &str, ip: std::net::Ipv4Addr, host_key: &str) -> Result<Node> {
        let handler = PinnedHostKey {
            expected: parse_host_key(name, host_key)?,
        };
        let open = async {
            let channel = self
                .handle
                .channel_open_direct_tcpip(ip.to_string(), 22, "127.0.0.1", 0)
                .await
                .with_context(|| format!("the gateway could not reach {name} at {ip}:22"))?;
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
}

/// What a command printed and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    pub code: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl Node {
    /// Runs `command`, feeding it `stdin`, and gathers its output.
    pub async fn exec(&self, command: &str, stdin: &[u8]) -> Result<Output> {
        let mut output = Output::default();
        let code = self
            .exec_with(command, stdin, |is_stderr, bytes| {
                if is_stderr {
                    output.stderr.extend_from_slice(bytes);
                } else {
                    output.stdout.extend_from_slice(bytes);
                }
            })
            .await?;
        output.code = code;
        Ok(output)
    }

    /// Runs `command`, handing each piece of output to `sink` as it arrives;
    /// returns the exit status (128 + n for a signal, like a shell).
    pub async fn exec_with(
        &self,
        command: &str,
        stdin: &[u8],
        mut sink: impl FnMut(bool, &[u8]),
    ) -> Result<u32> {
        let mut channel = self
            .handle
            .channel_open_session()
            .await
            .with_context(|| format!("could not open a channel to {}", self.name))?;
        channel
            .exec(true, command)
            .await
            .with_context(|| format!("could not start a command on {}", self.name))?;
        if !stdin.is_empty() {
            channel
                .data(stdin)
                .await
                .with_context(|| format!("could not send input to {}", self.name))?;
        }
        channel.eof().await?;
        let mut code = None;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => sink(false, &data),
                ChannelMsg::ExtendedData { data, .. } => sink(true, &data),
                ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
                ChannelMsg::ExitSignal { .. } => code = code.or(Some(128 + 9)),
                _ => {}
            }
        }
        code.ok_or_else(|| anyhow!("the command on {} ended without an exit status", self.name))
    }

    /// Runs `command` with `bytes` on its stdin, sent in chunks; `sent` is
    /// told how many bytes went out after each one. Returns the output.
    pub async fn exec_upload(&self, command: &str, bytes: &[u8], sent: impl Fn(u64)) -> Result<Output> {
        let mut channel = self
            .handle
            .channel_open_session()
            .await
            .with_context(|| format!("could not open a channel to {}", self.name))?;
        channel.exec(true, command).await?;
        for chunk in bytes.chunks(UPLOAD_CHUNK) {
            channel
                .data(chunk)
                .await
                .with_context(|| format!("could not send the program to {}", self.name))?;
            sent(chunk.len() as u64);
        }
        channel.eof().await?;
        let mut output = Output::default();
        let mut code = None;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, .. } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
                _ => {}
            }
        }
        output.code =
            code.ok_or_else(|| anyhow!("the upload to {} ended without an exit status", self.name))?;
        Ok(output)
    }

    pub async fn close(&self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}
