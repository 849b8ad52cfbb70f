//! The gateway: a container of the node image on the manager, on the
//! overlay network, whose sshd is published on 127.0.0.1 only. It is how
//! the manager reaches every container, wherever it runs.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
    UploadToContainerOptionsBuilder,
};

use super::client::{Engine, daemon_message, is_not_found};
use super::service::Change;
use crate::cluster::archive::{self, Entry};
use crate::cluster::digest;
use crate::cluster::hostkey;
use crate::cluster::layout::GATEWAY_AUTHORIZED_KEYS;
use crate::cluster::members;
use crate::cluster::names::{ClusterNames, GATEWAY_MADE_WITH_LABEL};
use crate::interrupt::Cancel;
use crate::wait::Wait;

/// From start to the host-key line in its log.
const START_WAIT: Duration = Duration::from_secs(20);
/// Where the running gateway listens and the host key it reported.
#[derive(Debug, Clone)]
pub struct GatewayInfo {
    /// The port on the manager's 127.0.0.1.
    pub port: u16,
    pub host_key: String,
}

/// The running gateway, created (or re-created, if stopped) when needed.
pub async fn ensure(
    engine: &Engine,
    names: &ClusterNames,
    image: &str,
    public_key: &str,
    cancel: &Cancel,
) -> Result<(GatewayInfo, Change)> {
    let made_with = made_with(image, public_key);
    if let Some(container) = inspect(engine, names).await?
        && made_with_label(&container) == Some(made_with.as_str())
        && let Some(found) = info_of(engine, names, container).await?
    {
        return Ok((found, Change::Unchanged));
    }
    // A stopped, half-made or outdated gateway is replaced.
    remove(engine, names).await?;
    create(engine, names, image, public_key, &made_with).await?;
    let what = format!("the gateway container {} to report its host key", names.gateway());
    let started = Wait::new(what, START_WAIT, cancel)
        .every(Duration::from_millis(50))
        .until(async || info(engine, names).await)
        .await?;
    Ok((started, Change::Created))
}

fn made_with(image: &str, public_key: &str) -> String {
    digest::sha256_hex(format!("{image}\n{public_key}").as_bytes())[..16].to_string()
}

/// What a gateway was made with (the label `create` gives it).
fn made_with_label(container: &ContainerInspectResponse) -> Option<&str> {
    let labels = container.config.as_ref()?.labels.as_ref()?;
    labels.get(GATEWAY_MADE_WITH_LABEL).map(String::as_str)
}

/// The gateway container as Docker sees it; None if there is none.
async fn inspect(engine: &Engine, names: &ClusterNames) -> Result<Option<ContainerInspectResponse>> {
    match engine.docker.inspect_container(&names.gateway(), None).await {
        Ok(container) => Ok(Some(container)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).context("could not inspect the gateway container"),
    }
}

fn container_body(names: &ClusterNames, image: &str, made_with: &str) -> ContainerCreateBody {
    let port_bindings = HashMap::from([(
        "22/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    )]);
    let mut labels = super::labels(names);
    labels.insert(GATEWAY_MADE_WITH_LABEL.to_string(), made_with.to_string());
    ContainerCreateBody {
        image: Some(image.into()),
        hostname: Some(format!("{}-gateway", names.cluster)),
        env: Some(vec!["SWARMPI_ROLE=gateway".into()]),
        labels: Some(labels),
        exposed_ports: Some(vec!["22/tcp".into()]),
        host_config: Some(HostConfig {
            network_mode: Some(names.network()),
            port_bindings: Some(port_bindings),
            // Back by itself when the manager's Docker restarts.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn create(
    engine: &Engine,
    names: &ClusterNames,
    image: &str,
    public_key: &str,
    made_with: &str,
) -> Result<()> {
    let gateway = names.gateway();
    let options = CreateContainerOptionsBuilder::default().name(&gateway).build();
    engine
        .docker
        .create_container(Some(options), container_body(names, image, made_with))
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not create the gateway container {gateway}"))?;
    // Until `authorize` names the cluster's containers, it forwards nothing.
    authorize(engine, names, &members::gateway_authorized_key(public_key, &[]))
        .await
        .context("could not give the gateway the manager's public key")?;
    engine
        .docker
        .start_container(&gateway, None::<StartContainerOptions>)
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not start the gateway container {gateway}"))
}

/// Lets the manager's key in with `line` (see
/// `members::gateway_authorized_key`): now, and when the gateway restarts.
pub async fn authorize(engine: &Engine, names: &ClusterNames, line: &str) -> Result<()> {
    let path = GATEWAY_AUTHORIZED_KEYS.trim_start_matches('/');
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let archive = archive::pack(&[
        Entry::dir(&format!("{dir}/"), 0o755),
        Entry::file(path, line.as_bytes(), 0o644),
    ])?;
    let upload = UploadToContainerOptionsBuilder::default().path("/").build();
    engine
        .docker
        .upload_to_container(&names.gateway(), Some(upload), bollard::body_full(archive.into()))
        .await
        .with_context(|| format!("could not update the authorized key of {}", names.gateway()))
}

/// The running gateway's loopback port and host key, if it is up.
pub async fn info(engine: &Engine, names: &ClusterNames) -> Result<Option<GatewayInfo>> {
    match inspect(engine, names).await? {
        Some(container) => info_of(engine, names, container).await,
        None => Ok(None),
    }
}

/// Where `container` (the gateway) listens and the host key it reported,
/// if it runs and has reported one.
async fn info_of(
    engine: &Engine,
    names: &ClusterNames,
    container: ContainerInspectResponse,
) -> Result<Option<GatewayInfo>> {
    let running = container.state.and_then(|s| s.running).unwrap_or(false);
    let port = container
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|ports| ports.get("22/tcp").cloned().flatten())
        .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port))
        .and_then(|port| port.parse::<u16>().ok());
    let (true, Some(port)) = (running, port) else {
        return Ok(None);
    };
    // Each start prints one report (the gateway's stdout holds nothing
    // else): the last is the running sshd's. Not `tail`: Docker counts its
    // lines over both streams, and sshd's stderr would push the report out.
    let options = LogsOptionsBuilder::default().stdout(true).build();
    let logs = engine.docker.logs(&names.gateway(), Some(options));
    let text = super::read_log(logs, "the gateway").await?;
    let latest = text.lines().filter_map(hostkey::parse_line).next_back();
    Ok(latest.map(|report| GatewayInfo {
        port,
        host_key: report.key,
    }))
}

/// Removes the gateway container; true if there was one.
pub(super) async fn remove(engine: &Engine, names: &ClusterNames) -> Result<bool> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine
        .docker
        .remove_container(&names.gateway(), Some(options))
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not remove container {}", names.gateway())),
    }
}
