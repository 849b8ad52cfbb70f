//! `swarmpi shell`: an interactive shell in the head container as the MPI
//! user. It uses the system's OpenSSH client for its terminal handling, with
//! swarmpi's pinned host keys in a private known_hosts file (strict
//! checking, through the loopback gateway) and none of the user's own ssh
//! configuration, identities or agent.

use anyhow::{Context as _, Result};

use crate::cluster::layout::MPI_USER;
use crate::cluster::names::ClusterNames;
use crate::cluster::ssh_client::{self, ShellSession};
use crate::context::Context;
use crate::error::Outcome;
use crate::heal;
use crate::state::StateDir;

pub async fn run(ctx: &Context, names: ClusterNames) -> Result<Outcome> {
    let cluster = heal::open(ctx, &names).await?;
    let (head, _) = cluster.head();
    let known_hosts = StateDir::new(&ctx.settings.state_dir)
        .cluster_dir(&names.cluster)
        .join("known_hosts.shell");
    let port = cluster.gateway_info.port;
    let pinned = format!(
        "[127.0.0.1]:{port} {}\n{} {}\n",
        cluster.gateway_info.host_key,
        head.known_hosts_names(),
        head.host_key
    );
    std::fs::write(&known_hosts, pinned)
        .with_context(|| format!("could not write {}", known_hosts.display()))?;
    let (ip, container_port, hostname) = (head.ip, head.port, head.hostname.clone());
    cluster.close().await;
    ctx.printer
        .info(format!("connecting to {hostname} ({ip}) as {MPI_USER}"));
    let ip = ip.to_string();
    let args = ssh_client::shell_args(&ShellSession {
        known_hosts: &known_hosts,
        key: &cluster.gateway_key_path,
        gateway_port: port,
        container_ip: &ip,
        container_port,
    })?;
    // ssh runs ProxyCommand with $SHELL: the quoting above is POSIX sh's.
    let status = std::process::Command::new("ssh")
        .args(&args)
        .env("SHELL", "/bin/sh")
        .status()
        .context("could not start the ssh client (install openssh-client)")?;
    Ok(Outcome::Remote(status.code().map_or(1, |c| c as u32)))
}
