//! `swarmpi exec CMD...` and `swarmpi shell`: a command or an interactive
//! shell in the head container, as the MPI user, over the cluster's SSH path.

use anyhow::{Context, Result};

use crate::access;
use crate::cluster::names::ClusterNames;
use crate::cluster::program::shell_quote;
use crate::config::Settings;
use crate::printer::Printer;

pub struct ExecOptions {
    pub names: ClusterNames,
    pub command: Vec<String>,
}

pub async fn exec(settings: &Settings, options: ExecOptions, printer: &Printer) -> Result<i32> {
    let cluster = access::open_cluster(settings, &options.names).await?;
    let line = options
        .command
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    let (_, head) = cluster.head();
    let code = head
        .exec_with(&format!("cd ~ && {line}"), &[], |is_stderr, bytes| {
            printer.passthrough(is_stderr, bytes)
        })
        .await;
    cluster.close().await;
    Ok(i32::try_from(code?).unwrap_or(1))
}

/// The interactive shell uses the system's OpenSSH client for its terminal
/// handling, with swarmpi's pinned host keys in a private known_hosts file
/// (strict checking, through the loopback gateway).
pub async fn shell(settings: &Settings, names: ClusterNames, printer: &Printer) -> Result<i32> {
    let cluster = access::open_cluster(settings, &names).await?;
    let (head, _) = cluster.head();
    let dir = settings.state_dir.join(&names.cluster);
    let known_hosts = dir.join("known_hosts.shell");
    let port = cluster.gateway_info.port;
    std::fs::write(
        &known_hosts,
        format!(
            "[127.0.0.1]:{port} {}\n{} {}\n",
            cluster.gateway_info.host_key, head.ip, head.host_key
        ),
    )
    .with_context(|| format!("could not write {}", known_hosts.display()))?;
    let (ip, hostname) = (head.ip, head.hostname.clone());
    cluster.close().await;
    printer.info(format!("connecting to {hostname} ({ip}) as mpi"));
    let common = format!(
        "-o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -o IdentitiesOnly=yes -i {}",
        known_hosts.display(),
        cluster.key_path.display()
    );
    let status = std::process::Command::new("ssh")
        .args(common.split(' '))
        .arg("-o")
        .arg(format!(
            "ProxyCommand=ssh {common} -p {port} -W %h:%p mpi@127.0.0.1"
        ))
        .arg("-t")
        .arg(format!("mpi@{ip}"))
        .status()
        .context("could not start the ssh client (install openssh-client)")?;
    Ok(status.code().unwrap_or(1))
}
