//! `swarmpi doctor`'s Docker objects: a temporary overlay network and a
//! global service of probes (one per server) on it, their tasks and logs,
//! and their removal. Both carry a name no cluster can have.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::{
    NetworkAttachmentConfig, NetworkCreateRequest, ServiceSpec, ServiceSpecMode, TaskSpec,
    TaskSpecContainerSpec, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListTasksOptions, ListTasksOptionsBuilder, LogsOptionsBuilder,
};

use super::client::{Engine, daemon_message, is_not_found};
use crate::cluster::names::{ClusterNames, DOCTOR};
use crate::interrupt::Cancel;
use crate::wait::Wait;

/// What the probes are given.
pub struct ProbeSpec {
    pub image: String,
    pub script: String,
    /// The overlay's MTU; None: Docker's default.
    pub mtu: Option<u32>,
    /// IPsec between servers, as `deploy --encrypted` makes it.
    pub encrypted: bool,
    pub env: Vec<String>,
}

/// One probe task: where it runs and how it is doing.
#[derive(Debug, Clone)]
pub struct ProbeTask {
    pub id: String,
    pub node_id: String,
    pub running: bool,
    /// Docker's error for a task that could not start (e.g. "No such image").
    pub error: Option<String>,
}

/// The probe network's driver options: MTU and encryption as asked.
fn network_options(spec: &ProbeSpec) -> HashMap<String, String> {
    let mut options = HashMap::new();
    if let Some(mtu) = spec.mtu {
        options.insert("com.docker.network.driver.mtu".to_string(), mtu.to_string());
    }
    if spec.encrypted {
        options.insert("encrypted".to_string(), String::new());
    }
    options
}

/// Creates the network and the probe service.
pub async fn start(engine: &Engine, spec: &ProbeSpec) -> Result<()> {
    // The label marks them as swarmpi's; no cluster is named this.
    let names = &ClusterNames {
        cluster: DOCTOR.into(),
    };
    let network = NetworkCreateRequest {
        name: DOCTOR.into(),
        driver: Some("overlay".into()),
        options: Some(network_options(spec)),
        labels: Some(super::labels(names)),
        ..Default::default()
    };
    engine.docker.create_network(network).await.map_err(|e| {
        anyhow::anyhow!(
            "could not create the probe network {DOCTOR}: {}",
            daemon_message(&e)
        )
    })?;
    let service = ServiceSpec {
        name: Some(DOCTOR.into()),
        labels: Some(super::labels(names)),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(spec.image.clone()),
                command: Some(vec!["bash".into(), "-c".into(), spec.script.clone()]),
                env: Some(spec.env.clone()),
                // clockdiff raises its priority to time the exchange well.
                capability_add: Some(vec!["CAP_SYS_NICE".into()]),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(DOCTOR.into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            global: Some(Default::default()),
            ..Default::default()
        }),
        ..Default::default()
    };
    engine.docker.create_service(service, None).await.map_err(|e| {
        anyhow::anyhow!(
            "could not create the probe service {DOCTOR}: {}",
            daemon_message(&e)
        )
    })?;
    Ok(())
}

/// The probe tasks, one per server once the swarm has placed them.
pub async fn tasks(engine: &Engine) -> Result<Vec<ProbeTask>> {
    use bollard::models::TaskState;
    let filters = HashMap::from([("service".to_string(), vec![DOCTOR.to_string()])]);
    let options = ListTasksOptionsBuilder::default().filters(&filters).build();
    let tasks = engine
        .docker
        .list_tasks(Some(options))
        .await
        .context("could not list the probe tasks")?;
    Ok(tasks
        .into_iter()
        .map(|task| {
            let status = task.status.unwrap_or_default();
            let failed = matches!(status.state, Some(TaskState::REJECTED | TaskState::FAILED));
            ProbeTask {
                id: task.id.unwrap_or_default(),
                node_id: task.node_id.unwrap_or_default(),
                running: status.state == Some(TaskState::RUNNING),
                error: failed.then(|| status.err.unwrap_or_else(|| "failed".into())),
            }
        })
        .collect())
}

/// What a probe printed so far.
pub async fn log(engine: &Engine, task_id: &str) -> Result<String> {
    let options = LogsOptionsBuilder::default().stdout(true).follow(false).build();
    let stream = engine.docker.task_logs(task_id, Some(options));
    super::read_log(stream, &format!("probe task {task_id}")).await
}

/// Removes the probe service, waits until every server has removed its
/// probe container, then removes the network, whatever state they are in.
pub async fn remove(engine: &Engine, limit: Duration) -> Result<()> {
    let id = match engine.docker.inspect_service(DOCTOR, None).await {
        Ok(service) => service.id,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).context("could not inspect the probe service"),
    };
    if let Some(id) = id {
        match engine.docker.delete_service(DOCTOR).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).context("could not remove the probe service"),
        }
        probes_gone(engine, &id, limit).await?;
    }
    super::network::remove(engine, DOCTOR, limit, &Cancel::never()).await?;
    Ok(())
}

/// Waits until the swarm has forgotten service `id`'s tasks (each server
/// removed its container) and the manager's own probe container is gone.
async fn probes_gone(engine: &Engine, id: &str, limit: Duration) -> Result<()> {
    // A filter by a removed service fails: every task is listed instead.
    Wait::new("every probe container to be removed", limit, &Cancel::never())
        .every(Duration::from_millis(300))
        .until(async || {
            let tasks = engine.docker.list_tasks(None::<ListTasksOptions>).await?;
            let left = tasks.iter().any(|t| t.service_id.as_deref() == Some(id));
            Ok((!left).then_some(()))
        })
        .await?;
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.swarm.service.name={DOCTOR}")],
    )]);
    Wait::new(
        "the manager's probe container to be removed",
        limit,
        &Cancel::never(),
    )
    .every(Duration::from_millis(300))
    .until(async || {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let left = engine.docker.list_containers(Some(options)).await?;
        Ok(left.is_empty().then_some(()))
    })
    .await
}
