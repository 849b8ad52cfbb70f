//! A cluster's Docker objects on the swarm: overlay network, secret, service
//! (N containers per server), the gateway container, and their removal.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use bollard::models::{
    ContainerCreateBody, HostConfig, Ipam, IpamConfig, NetworkAttachmentConfig, NetworkCreateRequest,
    PortBinding, SecretSpec, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectNetworkOptions, ListConfigsOptionsBuilder,
    ListSecretsOptionsBuilder, ListTasksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    UpdateServiceOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::client::{Engine, daemon_message, is_not_found};
use crate::cluster::archive::{self, Entry};
use crate::cluster::hostkey::{self, HostKeyReport};
use crate::cluster::names::{CLUSTER_LABEL, ClusterNames};
use crate::cluster::plan::Subnet;

/// Where the entrypoint finds the authorized key (a swarm secret's file name).
const AUTHORIZED_KEYS_SECRET_FILE: &str = "swarmpi_authorized_keys";
/// The gateway's authorized key, relative to /etc.
const GATEWAY_KEYS_SUBDIR: &str = "swarmpi/";
const GATEWAY_KEYS_FILE: &str = "swarmpi/authorized_keys";

fn labels(names: &ClusterNames) -> HashMap<String, String> {
    HashMap::from([(CLUSTER_LABEL.to_string(), names.cluster.clone())])
}

fn label_filter(names: &ClusterNames) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{CLUSTER_LABEL}={}", names.cluster)],
    )])
}

/// The overlay network as it exists: its subnet and options.
#[derive(Debug, Clone)]
pub struct OverlayNetwork {
    pub id: String,
    pub subnet: Subnet,
    pub encrypted: bool,
}

/// How long a network may lack its subnet: the swarm allocates it a moment
/// after creation, and a removed network's local copy lingers a moment too.
const SUBNET_WAIT: Duration = Duration::from_secs(15);

pub async fn inspect_network(engine: &Engine, names: &ClusterNames) -> Result<Option<OverlayNetwork>> {
    let deadline = tokio::time::Instant::now() + SUBNET_WAIT;
    loop {
        let options = InspectNetworkOptions {
            verbose: false,
            scope: Some("swarm".into()),
        };
        let network = match engine
            .docker
            .inspect_network(&names.network(), Some(options))
            .await
        {
            Ok(network) => network,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("could not inspect network {}", names.network()));
            }
        };
        let subnet = network
            .ipam
            .and_then(|ipam| ipam.config)
            .and_then(|configs| configs.into_iter().find_map(|c| c.subnet));
        if let Some(subnet) = subnet {
            let options = network.options.unwrap_or_default();
            return Ok(Some(OverlayNetwork {
                id: network.id.unwrap_or_default(),
                subnet: Subnet::parse(&subnet).map_err(|e| anyhow::anyhow!(e.message))?,
                encrypted: options.contains_key("encrypted"),
            }));
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "network {} has no IPv4 subnet after {} s",
                names.network(),
                SUBNET_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn create_network(
    engine: &Engine,
    names: &ClusterNames,
    subnet: Option<Subnet>,
    mtu: Option<u32>,
    encrypted: bool,
) -> Result<OverlayNetwork> {
    let mut options = HashMap::new();
    if let Some(mtu) = mtu {
        options.insert("com.docker.network.driver.mtu".to_string(), mtu.to_string());
    }
    if encrypted {
        options.insert("encrypted".to_string(), String::new());
    }
    let ipam = subnet.map(|subnet| Ipam {
        config: Some(vec![IpamConfig {
            subnet: Some(subnet.to_string()),
            ..Default::default()
        }]),
        ..Default::default()
    });
    let request = NetworkCreateRequest {
        name: names.network(),
        driver: Some("overlay".into()),
        attachable: Some(true),
        ipam,
        options: Some(options),
        labels: Some(labels(names)),
        ..Default::default()
    };
    engine.docker.create_network(request).await.map_err(|e| {
        crate::error::UserError::usage(format!(
            "could not create the overlay network {}: {}",
            names.network(),
            daemon_message(&e)
        ))
        .hint("if the subnet overlaps another network, pick another with --subnet")
    })?;
    inspect_network(engine, names)
        .await?
        .context("the overlay network vanished right after it was created")
}

/// The secret holding the cluster's public key; created unless it exists.
/// Returns (id, name).
pub async fn ensure_key_secret(
    engine: &Engine,
    names: &ClusterNames,
    public_key: &str,
    key_digest: &str,
) -> Result<(String, String)> {
    let name = names.authorized_keys_secret(key_digest);
    let filters = HashMap::from([("name".to_string(), vec![name.clone()])]);
    let existing = engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default().filters(&filters).build(),
        ))
        .await
        .context("could not list secrets")?;
    if let Some(secret) = existing
        .into_iter()
        .find(|s| s.spec.as_ref().and_then(|spec| spec.name.as_deref()) == Some(name.as_str()))
    {
        return Ok((secret.id.unwrap_or_default(), name));
    }
    let spec = SecretSpec {
        name: Some(name.clone()),
        labels: Some(labels(names)),
        data: Some(base64::engine::general_purpose::STANDARD.encode(format!("{public_key}\n"))),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_secret(spec)
        .await
        .with_context(|| format!("could not create secret {name}"))?;
    Ok((created.id, name))
}

/// What the service should look like.
#[derive(Debug, Clone)]
pub struct ServiceShape {
    pub image: String,
    pub replicas: u32,
    pub per_host: u32,
    pub secret_id: String,
    pub secret_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

fn service_spec(names: &ClusterNames, shape: &ServiceShape) -> ServiceSpec {
    let container = TaskSpecContainerSpec {
        image: Some(shape.image.clone()),
        hostname: Some(names.hostname_template()),
        env: Some(vec!["SWARMPI_TASK_ID={{.Task.ID}}".into()]),
        labels: Some(labels(names)),
        secrets: Some(vec![TaskSpecContainerSpecSecrets {
            file: Some(TaskSpecContainerSpecFile {
                name: Some(AUTHORIZED_KEYS_SECRET_FILE.into()),
                uid: Some("0".into()),
                gid: Some("0".into()),
                mode: Some(0o444),
            }),
            secret_id: Some(shape.secret_id.clone()),
            secret_name: Some(shape.secret_name.clone()),
        }]),
        ..Default::default()
    };
    ServiceSpec {
        name: Some(names.service()),
        labels: Some(labels(names)),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            placement: Some(TaskSpecPlacement {
                max_replicas: Some(i64::from(shape.per_host)),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                delay: Some(1_000_000_000),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(names.network()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(i64::from(shape.replicas)),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates the service, or updates it when its shape differs.
pub async fn ensure_service(engine: &Engine, names: &ClusterNames, shape: &ServiceShape) -> Result<Change> {
    let wanted = service_spec(names, shape);
    let current = match engine.docker.inspect_service(&names.service(), None).await {
        Ok(service) => service,
        Err(e) if is_not_found(&e) => {
            engine
                .docker
                .create_service(wanted, None)
                .await
                .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
                .with_context(|| format!("could not create service {}", names.service()))?;
            return Ok(Change::Created);
        }
        Err(e) => return Err(e).with_context(|| format!("could not inspect service {}", names.service())),
    };
    let spec = current.spec.clone().unwrap_or_default();
    if same_shape(&spec, &wanted) {
        return Ok(Change::Unchanged);
    }
    let version = current.version.and_then(|v| v.index).unwrap_or_default();
    let options = UpdateServiceOptionsBuilder::default()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    engine
        .docker
        .update_service(&names.service(), wanted, options, None)
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not update service {}", names.service()))?;
    Ok(Change::Updated)
}

fn same_shape(current: &ServiceSpec, wanted: &ServiceSpec) -> bool {
    let replicas = |s: &ServiceSpec| {
        s.mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas)
    };
    let max = |s: &ServiceSpec| {
        s.task_template
            .as_ref()
            .and_then(|t| t.placement.as_ref())
            .and_then(|p| p.max_replicas)
    };
    let image = |s: &ServiceSpec| {
        s.task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.clone())
    };
    let secret = |s: &ServiceSpec| {
        s.task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.secrets.as_ref())
            .and_then(|s| s.first())
            .and_then(|s| s.secret_name.clone())
    };
    replicas(current) == replicas(wanted)
        && max(current) == max(wanted)
        && image(current) == image(wanted)
        && secret(current) == secret(wanted)
}

/// One task of the service, as the manager sees it.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: String,
    pub slot: u32,
    pub node_id: String,
    pub state: TaskState,
    pub desired_running: bool,
    pub error: String,
}

pub async fn list_tasks(engine: &Engine, names: &ClusterNames) -> Result<Vec<TaskView>> {
    let filters = HashMap::from([("service".to_string(), vec![names.service()])]);
    let tasks = engine
        .docker
        .list_tasks(Some(ListTasksOptionsBuilder::default().filters(&filters).build()))
        .await
        .with_context(|| format!("could not list the tasks of {}", names.service()))?;
    Ok(tasks
        .into_iter()
        .map(|task| {
            let status = task.status.unwrap_or_default();
            TaskView {
                id: task.id.unwrap_or_default(),
                slot: u32::try_from(task.slot.unwrap_or_default()).unwrap_or_default(),
                node_id: task.node_id.unwrap_or_default(),
                state: status.state.unwrap_or(TaskState::NEW),
                // READY: a restarted task waiting out its restart delay.
                desired_running: matches!(task.desired_state, Some(TaskState::RUNNING | TaskState::READY)),
                error: status.err.unwrap_or_default(),
            }
        })
        .collect())
}

/// The host-key lines every task printed, by task id, read through the
/// swarm (tasks on other servers included).
pub async fn host_key_reports(
    engine: &Engine,
    names: &ClusterNames,
) -> Result<HashMap<String, HostKeyReport>> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(false)
        .follow(false)
        .build();
    let mut stream = engine.docker.service_logs(&names.service(), Some(options));
    let mut reports = HashMap::new();
    while let Some(item) = stream.next().await {
        let output = item.with_context(|| format!("could not read the logs of {}", names.service()))?;
        for line in output.to_string().lines() {
            if let Some(report) = hostkey::parse_line(line) {
                reports.insert(report.task.clone(), report);
            }
        }
    }
    Ok(reports)
}

/// The gateway: a container of the node image on the manager, on the overlay
/// network, whose sshd is published on 127.0.0.1 only.
#[derive(Debug, Clone)]
pub struct GatewayInfo {
    pub port: u16,
    pub host_key: String,
}

pub async fn ensure_gateway(
    engine: &Engine,
    names: &ClusterNames,
    image: &str,
    public_key: &str,
) -> Result<(GatewayInfo, Change)> {
    if let Some(info) = gateway_info(engine, names).await? {
        return Ok((info, Change::Unchanged));
    }
    // A stopped or half-made gateway is replaced.
    remove_container(engine, &names.gateway()).await?;
    create_gateway(engine, names, image, public_key).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(info) = gateway_info(engine, names).await? {
            return Ok((info, Change::Created));
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the gateway container {} did not report its host key within 20 s",
                names.gateway()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create_gateway(engine: &Engine, names: &ClusterNames, image: &str, public_key: &str) -> Result<()> {
    let port_bindings = HashMap::from([(
        "22/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    )]);
    let body = ContainerCreateBody {
        image: Some(image.into()),
        hostname: Some(format!("{}-gateway", names.cluster)),
        env: Some(vec![
            "SWARMPI_ROLE=gateway".into(),
            format!("SWARMPI_AUTHORIZED_KEYS=/etc/{GATEWAY_KEYS_FILE}"),
        ]),
        labels: Some(labels(names)),
        exposed_ports: Some(vec!["22/tcp".into()]),
        host_config: Some(HostConfig {
            network_mode: Some(names.network()),
            port_bindings: Some(port_bindings),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&names.gateway())
        .build();
    engine
        .docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not create the gateway container {}", names.gateway()))?;
    // One upload into /etc: the key directory does not exist in the image.
    let key_line = format!("{public_key}\n");
    let archive = archive::pack(&[
        Entry::dir(GATEWAY_KEYS_SUBDIR, 0o755),
        Entry::file(GATEWAY_KEYS_FILE, key_line.as_bytes(), 0o644),
    ])?;
    let upload = UploadToContainerOptionsBuilder::default().path("/etc").build();
    engine
        .docker
        .upload_to_container(&names.gateway(), Some(upload), bollard::body_full(archive.into()))
        .await
        .context("could not give the gateway the cluster's public key")?;
    engine
        .docker
        .start_container(
            &names.gateway(),
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not start the gateway container {}", names.gateway()))?;
    Ok(())
}

/// The running gateway's loopback port and host key, if it is up.
pub async fn gateway_info(engine: &Engine, names: &ClusterNames) -> Result<Option<GatewayInfo>> {
    let container = match engine.docker.inspect_container(&names.gateway(), None).await {
        Ok(container) => container,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e).context("could not inspect the gateway container"),
    };
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
    let options = LogsOptionsBuilder::default().stdout(true).build();
    let mut logs = engine.docker.logs(&names.gateway(), Some(options));
    while let Some(item) = logs.next().await {
        let output = item.context("could not read the gateway's log")?;
        if let Some(report) = output.to_string().lines().find_map(hostkey::parse_line) {
            return Ok(Some(GatewayInfo {
                port,
                host_key: report.key,
            }));
        }
    }
    Ok(None)
}

async fn remove_container(engine: &Engine, name: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine.docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("could not remove container {name}")),
    }
}

/// What `remove_cluster` found and removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub objects: Vec<String>,
}

/// Removes every Docker object of the cluster: service (waiting until its
/// containers are gone on every server), gateway, network, secrets, configs.
pub async fn remove_cluster(engine: &Engine, names: &ClusterNames, wait: Duration) -> Result<Removed> {
    let mut removed = Removed::default();
    match engine.docker.delete_service(&names.service()).await {
        Ok(()) => removed.objects.push(format!("service {}", names.service())),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e).with_context(|| format!("could not remove service {}", names.service())),
    }
    wait_for_tasks_gone(engine, names, wait).await?;
    if engine
        .docker
        .inspect_container(&names.gateway(), None)
        .await
        .is_ok()
    {
        remove_container(engine, &names.gateway()).await?;
        removed.objects.push(format!("container {}", names.gateway()));
    }
    remove_network(engine, names, wait, &mut removed).await?;
    remove_secrets_and_configs(engine, names, &mut removed).await?;
    Ok(removed)
}

async fn wait_for_tasks_gone(engine: &Engine, names: &ClusterNames, wait: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.swarm.service.name={}", names.service())],
    )]);
    loop {
        let tasks = list_tasks(engine, names).await;
        // Removing a service removes its tasks; an unknown service lists none.
        let remaining = tasks.map(|t| t.len()).unwrap_or(0);
        let local = engine
            .docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map(|c| c.len())
            .unwrap_or(0);
        if remaining == 0 && local == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{remaining} task(s) of {} were still shutting down after {} s",
                names.service(),
                wait.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn remove_network(
    engine: &Engine,
    names: &ClusterNames,
    wait: Duration,
    removed: &mut Removed,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match engine.docker.remove_network(&names.network()).await {
            Ok(()) => {
                removed.objects.push(format!("network {}", names.network()));
                return wait_for_network_gone(engine, names, deadline).await;
            }
            Err(e) if is_not_found(&e) => return Ok(()),
            // Endpoints of just-stopped containers take a moment to go.
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("could not remove network {}", names.network())),
        }
    }
}

/// The manager's copy of a removed network lingers a moment; a deploy right
/// after `down` must not find it.
async fn wait_for_network_gone(
    engine: &Engine,
    names: &ClusterNames,
    deadline: tokio::time::Instant,
) -> Result<()> {
    let options = || InspectNetworkOptions {
        verbose: false,
        scope: None,
    };
    while engine
        .docker
        .inspect_network(&names.network(), Some(options()))
        .await
        .is_ok()
    {
        if tokio::time::Instant::now() > deadline {
            bail!("network {} was removed but is still listed", names.network());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn remove_secrets_and_configs(
    engine: &Engine,
    names: &ClusterNames,
    removed: &mut Removed,
) -> Result<()> {
    let filters = label_filter(names);
    let secrets = engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default().filters(&filters).build(),
        ))
        .await
        .context("could not list secrets")?
        .into_iter()
        .map(|s| {
            (
                "secret",
                s.id.unwrap_or_default(),
                s.spec.and_then(|spec| spec.name),
            )
        });
    let configs = engine
        .docker
        .list_configs(Some(
            ListConfigsOptionsBuilder::default().filters(&filters).build(),
        ))
        .await
        .context("could not list configs")?
        .into_iter()
        .map(|c| {
            (
                "config",
                c.id.unwrap_or_default(),
                c.spec.and_then(|spec| spec.name),
            )
        });
    for (kind, id, name) in secrets.chain(configs).collect::<Vec<_>>() {
        let name = name.unwrap_or_else(|| id.clone());
        let result = match kind {
            "secret" => engine.docker.delete_secret(&id).await,
            _ => engine.docker.delete_config(&id).await,
        };
        result.with_context(|| format!("could not remove {kind} {name}"))?;
        removed.objects.push(format!("{kind} {name}"));
    }
    Ok(())
}

/// Secrets of the cluster other than `keep` (left over from an older key).
pub async fn remove_stale_secrets(engine: &Engine, names: &ClusterNames, keep: &str) -> Result<()> {
    let secrets = engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default()
                .filters(&label_filter(names))
                .build(),
        ))
        .await
        .context("could not list secrets")?;
    for secret in secrets {
        if secret.spec.as_ref().and_then(|s| s.name.as_deref()) != Some(keep) {
            let _ = engine.docker.delete_secret(&secret.id.unwrap_or_default()).await;
        }
    }
    Ok(())
}

/// The cluster as observed now: ready members, and what keeps the rest from
/// being ready.
#[derive(Debug, Default)]
pub struct Observation {
    pub members: Vec<crate::cluster::members::Member>,
    /// Desired-running tasks not running yet (or without a host key yet).
    pub waiting: usize,
    /// Faults that waiting will not cure, each naming its server.
    pub faults: Vec<String>,
    /// What each waiting container is doing, e.g. "mpi-2 on server X: preparing".
    pub waiting_on: Vec<String>,
}

/// The swarm's servers and a deployed cluster as observed now.
pub async fn observe_deployed(
    engine: &Engine,
    names: &ClusterNames,
    state: &crate::state::ClusterState,
) -> Result<(Vec<super::membership::ServerNode>, Observation)> {
    let servers = super::membership::list_nodes(engine).await?;
    let seen = observe(
        engine,
        names,
        &state.subnet()?,
        &servers,
        state.per_host,
        state.slots,
    )
    .await?;
    Ok((servers, seen))
}

/// Reads tasks and host-key reports and pairs them with their servers.
pub async fn observe(
    engine: &Engine,
    names: &ClusterNames,
    subnet: &Subnet,
    servers: &[super::membership::ServerNode],
    per_host: u32,
    slots: Option<u32>,
) -> Result<Observation> {
    let tasks = list_tasks(engine, names).await?;
    let reports = host_key_reports(engine, names).await?;
    let mut observation = Observation::default();
    let server_of = |node_id: &str| servers.iter().find(|s| s.id == node_id);
    for task in tasks.iter().filter(|t| t.desired_running) {
        let server = server_of(&task.node_id);
        let server_name = server.map_or_else(
            || "an unassigned server".to_string(),
            |s| format!("server {}", s.addr),
        );
        if task.state == TaskState::REJECTED || task.state == TaskState::FAILED {
            observation.faults.push(describe_fault(&server_name, &task.error));
            continue;
        }
        if let Some(server) = server
            && !server.usable()
        {
            observation.faults.push(format!(
                "{server_name} is {} ({}) while it runs {}",
                server.state,
                server.availability,
                names.hostname(task.slot)
            ));
            continue;
        }
        let report = reports.get(&task.id);
        let ip = report.and_then(|r| r.addrs.iter().copied().find(|ip| subnet.contains(*ip)));
        match (task.state == TaskState::RUNNING, server, report, ip) {
            (true, Some(server), Some(report), Some(ip)) => {
                observation.members.push(crate::cluster::members::Member {
                    task_id: task.id.clone(),
                    slot: task.slot,
                    hostname: names.hostname(task.slot),
                    node_id: server.id.clone(),
                    server: server.addr.clone(),
                    ip,
                    slots: crate::cluster::plan::slots_for(server.cpus, per_host, slots),
                    host_key: report.key.clone(),
                })
            }
            _ => {
                observation.waiting += 1;
                observation.waiting_on.push(format!(
                    "{} on {server_name}: {}",
                    names.hostname(task.slot),
                    task.state
                ));
            }
        }
    }
    // Recently failed tasks that were replaced still explain a stuck cluster.
    if observation.faults.is_empty() && observation.waiting > 0 {
        for task in tasks
            .iter()
            .filter(|t| !t.desired_running && t.state == TaskState::REJECTED)
        {
            let server = server_of(&task.node_id)
                .map_or_else(|| "a server".to_string(), |s| format!("server {}", s.addr));
            observation.faults.push(describe_fault(&server, &task.error));
        }
        observation.faults.dedup();
    }
    observation.members = crate::cluster::members::sorted(observation.members);
    Ok(observation)
}

fn describe_fault(server: &str, error: &str) -> String {
    if error.contains("No such image") {
        format!(
            "{server} does not have the node image ({error}): run `swarmpi join` (or `swarmpi init --image`) on that server"
        )
    } else {
        format!("a container on {server} failed: {error}")
    }
}
