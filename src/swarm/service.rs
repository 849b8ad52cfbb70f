//! The cluster's service (N containers per server) and what its tasks
//! report: their states, and the host-key lines they print at start.

use std::collections::HashMap;

use anyhow::{Context, Result};
use bollard::models::{
    Limit, Mount, MountTmpfsOptions, MountType, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecUpdateConfig, ServiceSpecUpdateConfigOrderEnum, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets, TaskSpecPlacement,
    TaskSpecResources, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{ListTasksOptionsBuilder, LogsOptionsBuilder, UpdateServiceOptionsBuilder};
use futures_util::future::join_all;

use super::client::{Engine, daemon_message, is_not_found};
use super::secret::KeySecret;
use crate::cluster::hostkey::{self, HostKeyReport};
use crate::cluster::layout::MANAGER_KEY_SECRET_FILE;
use crate::cluster::names::{CLUSTER_LABEL, ClusterNames, PORTS_LABEL};
use crate::cluster::observe::{Task, TaskState};
use crate::cluster::ports::PortBlock;
use crate::cluster::resources::Resources;

/// A restarted container waits this long (ns) before it starts again.
const RESTART_DELAY_NS: i64 = 1_000_000_000;

/// What the service should look like.
#[derive(Debug, Clone)]
pub struct ServiceShape {
    pub image: String,
    pub replicas: u32,
    pub per_host: u32,
    pub secret: KeySecret,
    /// CPU and memory limits per container.
    pub resources: Resources,
    /// The size of each container's /dev/shm.
    pub shm_bytes: u64,
    /// On the servers' own network: the cluster's ports (sshd on the
    /// first); None on the overlay.
    pub host_ports: Option<PortBlock>,
}

/// Swarm's name for the servers' own network.
const HOST_NETWORK: &str = "host";

/// What `ensure` did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

fn container_spec(names: &ClusterNames, shape: &ServiceShape) -> TaskSpecContainerSpec {
    let mut env = vec!["SWARMPI_TASK_ID={{.Task.ID}}".to_string()];
    if let Some(block) = shape.host_ports {
        env.push(format!("SWARMPI_SSH_PORT={}", block.ssh()));
    }
    TaskSpecContainerSpec {
        image: Some(shape.image.clone()),
        hostname: Some(names.hostname_template()),
        env: Some(env),
        labels: Some(super::labels(names)),
        secrets: Some(vec![TaskSpecContainerSpecSecrets {
            file: Some(TaskSpecContainerSpecFile {
                name: Some(MANAGER_KEY_SECRET_FILE.into()),
                uid: Some("0".into()),
                gid: Some("0".into()),
                mode: Some(0o444),
            }),
            secret_id: Some(shape.secret.id.clone()),
            secret_name: Some(shape.secret.name.clone()),
        }]),
        // Open MPI's shared-memory segments live here: not Docker's 64 MiB.
        mounts: Some(vec![Mount {
            target: Some("/dev/shm".into()),
            typ: Some(MountType::TMPFS),
            tmpfs_options: Some(MountTmpfsOptions {
                size_bytes: i64::try_from(shape.shm_bytes).ok(),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn service_spec(names: &ClusterNames, shape: &ServiceShape) -> ServiceSpec {
    let mut labels = super::labels(names);
    let network = match shape.host_ports {
        Some(block) => {
            labels.insert(PORTS_LABEL.to_string(), block.base.to_string());
            HOST_NETWORK.to_string()
        }
        None => names.network(),
    };
    ServiceSpec {
        name: Some(names.service()),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container_spec(names, shape)),
            resources: Some(TaskSpecResources {
                limits: Some(Limit {
                    nano_cpus: shape.resources.nano_cpus(),
                    memory_bytes: shape.resources.memory.and_then(|m| i64::try_from(m).ok()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                max_replicas: Some(i64::from(shape.per_host)),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                delay: Some(RESTART_DELAY_NS),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(network),
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
        // An MPI cluster is used whole: replace every container at once
        // rather than one by one.
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: Some(0),
            order: Some(ServiceSpecUpdateConfigOrderEnum::STOP_FIRST),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates the service, or updates it when its shape differs.
pub async fn ensure(engine: &Engine, names: &ClusterNames, shape: &ServiceShape) -> Result<Change> {
    let service = names.service();
    let wanted = service_spec(names, shape);
    let current = match engine.docker.inspect_service(&service, None).await {
        Ok(current) => current,
        Err(e) if is_not_found(&e) => {
            engine
                .docker
                .create_service(wanted, None)
                .await
                .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
                .with_context(|| format!("could not create service {service}"))?;
            return Ok(Change::Created);
        }
        Err(e) => return Err(e).with_context(|| format!("could not inspect service {service}")),
    };
    if same_shape(&current.spec.clone().unwrap_or_default(), &wanted) {
        return Ok(Change::Unchanged);
    }
    let version = current.version.and_then(|v| v.index).unwrap_or_default();
    let options = UpdateServiceOptionsBuilder::default()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    engine
        .docker
        .update_service(&service, wanted, options, None)
        .await
        .map_err(|e| anyhow::anyhow!(daemon_message(&e)))
        .with_context(|| format!("could not update service {service}"))?;
    Ok(Change::Updated)
}

/// The parts of a spec swarmpi sets: replicas, per-server limit, image,
/// secret, resource limits and /dev/shm.
fn same_shape(current: &ServiceSpec, wanted: &ServiceSpec) -> bool {
    let key = |s: &ServiceSpec| {
        let replicas = s
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas);
        let task = s.task_template.as_ref();
        let max = task
            .and_then(|t| t.placement.as_ref())
            .and_then(|p| p.max_replicas);
        let limits = task
            .and_then(|t| t.resources.as_ref())
            .and_then(|r| r.limits.as_ref())
            .map(|l| (l.nano_cpus.filter(|&n| n > 0), l.memory_bytes.filter(|&m| m > 0)));
        let shm = task
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.mounts.as_ref())
            .and_then(|m| m.first())
            .and_then(|m| m.tmpfs_options.as_ref())
            .and_then(|t| t.size_bytes);
        (
            replicas,
            max,
            task.map(container_of),
            limits.unwrap_or_default(),
            shm,
        )
    };
    key(current) == key(wanted)
}

/// What a task's containers are made of: image, key secret, environment
/// (which holds the sshd port on the servers' network). Not the network:
/// Docker keeps its ID where swarmpi gives a name.
type MadeOf = (Option<String>, Option<String>, Option<Vec<String>>);

fn container_of(task: &TaskSpec) -> MadeOf {
    let container = task.container_spec.as_ref();
    let image = container.and_then(|c| c.image.clone());
    let secret = container
        .and_then(|c| c.secrets.as_ref())
        .and_then(|s| s.first())
        .and_then(|s| s.secret_name.clone());
    let env = container.and_then(|c| c.env.clone());
    (image, secret, env)
}

/// The port blocks of the swarm's clusters on the servers' own network,
/// but `names`'s own: (cluster, block).
pub async fn port_blocks_in_use(engine: &Engine, names: &ClusterNames) -> Result<Vec<(String, PortBlock)>> {
    let filters = HashMap::from([("label".to_string(), vec![PORTS_LABEL.to_string()])]);
    let options = bollard::query_parameters::ListServicesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let services = engine
        .docker
        .list_services(Some(options))
        .await
        .context("could not list the swarm's services")?;
    Ok(services
        .into_iter()
        .filter_map(|s| {
            let labels = s.spec?.labels?;
            let cluster = labels.get(CLUSTER_LABEL)?.clone();
            let base = labels.get(PORTS_LABEL)?.parse().ok()?;
            (cluster != names.cluster).then_some((cluster, PortBlock { base }))
        })
        .collect())
}

/// Whether the service exists (whatever the state on this manager says).
pub async fn exists(engine: &Engine, names: &ClusterNames) -> Result<bool> {
    match engine.docker.inspect_service(&names.service(), None).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not inspect service {}", names.service())),
    }
}

/// Removes the service; true if there was one.
pub(super) async fn remove(engine: &Engine, names: &ClusterNames) -> Result<bool> {
    match engine.docker.delete_service(&names.service()).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not remove service {}", names.service())),
    }
}

/// The service's tasks; a task made from an older spec (a rolling update
/// under way) is not `current`.
pub async fn list_tasks(engine: &Engine, names: &ClusterNames) -> Result<Vec<Task>> {
    let wanted = match engine.docker.inspect_service(&names.service(), None).await {
        Ok(service) => service
            .spec
            .and_then(|s| s.task_template)
            .map(|t| container_of(&t)),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).with_context(|| format!("could not inspect service {}", names.service())),
    };
    let filters = HashMap::from([("service".to_string(), vec![names.service()])]);
    let tasks = engine
        .docker
        .list_tasks(Some(ListTasksOptionsBuilder::default().filters(&filters).build()))
        .await
        .with_context(|| format!("could not list the tasks of {}", names.service()))?;
    Ok(tasks.into_iter().map(|t| task_of(t, wanted.as_ref())).collect())
}

fn task_of(task: bollard::models::Task, wanted: Option<&MadeOf>) -> Task {
    use bollard::models::TaskState as Docker;
    let current = wanted.is_none_or(|w| task.spec.as_ref().map(container_of).as_ref() == Some(w));
    let status = task.status.unwrap_or_default();
    Task {
        current,
        id: task.id.unwrap_or_default(),
        slot: u32::try_from(task.slot.unwrap_or_default()).unwrap_or_default(),
        node_id: task.node_id.unwrap_or_default(),
        state: state_of(status.state.unwrap_or(Docker::NEW)),
        // READY: a restarted task waiting out its restart delay.
        desired_running: matches!(task.desired_state, Some(Docker::RUNNING | Docker::READY)),
        error: status.err.unwrap_or_default(),
    }
}

fn state_of(state: bollard::models::TaskState) -> TaskState {
    use bollard::models::TaskState as Docker;
    match state {
        Docker::NEW => TaskState::New,
        Docker::ALLOCATED => TaskState::Allocated,
        Docker::PENDING => TaskState::Pending,
        Docker::ASSIGNED => TaskState::Assigned,
        Docker::ACCEPTED => TaskState::Accepted,
        Docker::PREPARING => TaskState::Preparing,
        Docker::READY => TaskState::Ready,
        Docker::STARTING => TaskState::Starting,
        Docker::RUNNING => TaskState::Running,
        Docker::COMPLETE => TaskState::Complete,
        Docker::SHUTDOWN => TaskState::Shutdown,
        Docker::FAILED => TaskState::Failed,
        Docker::REJECTED => TaskState::Rejected,
        Docker::REMOVE => TaskState::Remove,
        Docker::ORPHANED => TaskState::Orphaned,
    }
}

/// The host keys the running tasks printed, read from each task's own log
/// (so Docker attributes every line, tasks on other servers included), and
/// the claims that were ignored.
pub async fn host_key_reports(
    engine: &Engine,
    tasks: &[Task],
) -> Result<(HashMap<String, HostKeyReport>, Vec<String>)> {
    let running = tasks
        .iter()
        .filter(|t| t.desired_running && t.state == TaskState::Running);
    let logs = join_all(running.map(|task| async move {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(false)
            .follow(false)
            .build();
        let stream = engine.docker.task_logs(&task.id, Some(options));
        let text = super::read_log(stream, &format!("task {}", task.id)).await?;
        anyhow::Ok((task.id.as_str(), text))
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    let lines = logs
        .iter()
        .flat_map(|(task, text)| text.lines().map(move |line| (*task, line)));
    Ok(hostkey::collect(lines))
}
