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
use crate::cluster::names::{ClusterNames, DOCTOR, DOCTOR_LISTEN};
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
    /// Ports to listen on, on every server's own network (a second global
    /// service), for the probes to connect to; none: no such service.
    pub listen: Vec<u16>,
}

/// The listeners: bound before they say so, then idle until removed. A
/// port already taken (a running cluster's sshd or daemons) answers anyway.
const LISTENER: &str = r#"
import socket, sys, time
held = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", int(port)))
        s.listen(128)
        held.append(s)
        print("doctor listen", port, "ok", flush=True)
    except OSError:
        print("doctor listen", port, "taken", flush=True)
time.sleep(600)
"#;

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

/// Creates the network and the probe service (and the listeners, if asked).
pub async fn start(engine: &Engine, spec: &ProbeSpec) -> Result<()> {
    let names = &doctor_names();
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
    let probe = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        command: Some(vec!["bash".into(), "-c".into(), spec.script.clone()]),
        env: Some(spec.env.clone()),
        // clockdiff raises its priority to time the exchange well.
        capability_add: Some(vec!["CAP_SYS_NICE".into()]),
        ..Default::default()
    };
    create_global(engine, DOCTOR, probe, DOCTOR).await?;
    if spec.listen.is_empty() {
        return Ok(());
    }
    let mut command = vec!["python3".to_string(), "-c".into(), LISTENER.into()];
    command.extend(spec.listen.iter().map(u16::to_string));
    let listener = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        command: Some(command),
        ..Default::default()
    };
    create_global(engine, DOCTOR_LISTEN, listener, "host").await
}

/// The label marks doctor's objects as swarmpi's; no cluster is named this.
fn doctor_names() -> ClusterNames {
    ClusterNames {
        cluster: DOCTOR.into(),
    }
}

/// A global service `name` (one container per server, never restarted)
/// of `container` on `network`.
async fn create_global(
    engine: &Engine,
    name: &str,
    container: TaskSpecContainerSpec,
    network: &str,
) -> Result<()> {
    let names = &doctor_names();
    let service = ServiceSpec {
        name: Some(name.into()),
        labels: Some(super::labels(names)),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(network.into()),
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
    engine
        .docker
        .create_service(service, None)
        .await
        .map_err(|e| anyhow::anyhow!("could not create the service {name}: {}", daemon_message(&e)))?;
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
    for name in [DOCTOR_LISTEN, DOCTOR] {
        remove_service(engine, name, limit).await?;
    }
    super::network::remove(engine, DOCTOR, limit, &Cancel::never()).await?;
    Ok(())
}

/// Removes service `name` and waits until its containers are gone.
async fn remove_service(engine: &Engine, name: &str, limit: Duration) -> Result<()> {
    let id = match engine.docker.inspect_service(name, None).await {
        Ok(service) => service.id,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).with_context(|| format!("could not inspect the service {name}")),
    };
    if let Some(id) = id {
        match engine.docker.delete_service(name).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).with_context(|| format!("could not remove the service {name}")),
        }
        probes_gone(engine, name, &id, limit).await?;
    }
    Ok(())
}

/// Waits until the swarm has forgotten service `id`'s tasks (each server
/// removed its container) and the manager's own probe container is gone.
async fn probes_gone(engine: &Engine, name: &str, id: &str, limit: Duration) -> Result<()> {
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
        vec![format!("com.docker.swarm.service.name={name}")],
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
