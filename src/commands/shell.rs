//! `swarmpi shell`: an interactive shell in the head container as the MPI
//! user. It uses the system's OpenSSH client for its terminal handling, with
//! swarmpi's pinned host keys in a private known_hosts file (strict
//! checking, through the loopback gateway).

use anyhow::{Context as _, Result};

use crate::cluster::layout::{MPI_USER, login};
use crate::cluster::names::ClusterNames;
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
        cluster.gateway_info.host_key, head.ip, head.host_key
    );
    std::fs::write(&known_hosts, pinned)
        .with_context(|| format!("could not write {}", known_hosts.display()))?;
    let (ip, hostname) = (head.ip, head.hostname.clone());
    cluster.close().await;
    ctx.printer
        .info(format!("connecting to {hostname} ({ip}) as {MPI_USER}"));
    let common = format!(
        "-o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -o IdentitiesOnly=yes",
        known_hosts.display()
    );
    // The gateway takes the manager's own key; the container the cluster key.
    let (gateway_key, key) = (cluster.gateway_key_path.display(), cluster.key_path.display());
    let status = std::process::Command::new("ssh")
        .args(common.split(' '))
        .args(["-i", &key.to_string(), "-o"])
        .arg(format!(
            "ProxyCommand=ssh {common} -i {gateway_key} -p {port} -W %h:%p {}",
            login("127.0.0.1")
        ))
        .arg("-t")
        .arg(login(&ip.to_string()))
        .status()
        .context("could not start the ssh client (install openssh-client)")?;
    Ok(Outcome::Remote(status.code().map_or(1, |c| c as u32)))
}
