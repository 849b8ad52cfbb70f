//! `swarmpi doctor`: what is wrong between the swarm's servers, found by
//! a probe container on each (`probe.sh`, on a temporary overlay network):
//! the overlay's data path and largest packet, the gossip port, clocks,
//! plus each server's Docker Engine and node image. Bounded in time; the
//! probe network and service are always removed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cluster::diagnosis::{self, Check, HostBlock, Probe, ProbeOutcome};
use crate::cluster::names::{ClusterNames, DOCTOR};
use crate::cluster::ports::PortBlock;
use crate::cluster::servers::{self, Server};
use crate::context::Context;
use crate::interrupt::Cancel;
use crate::state::StateDir;
use crate::swarm::probes::{self as probes, ProbeSpec, ProbeTask};
use crate::swarm::{Engine, membership, service};
use crate::wait::Wait;

const PROBE: &str = include_str!("probe.sh");
/// From creating the probes to every report.
const REPORT_LIMIT: Duration = Duration::from_secs(60);
const REMOVE_LIMIT: Duration = Duration::from_secs(30);

/// The checks, the overlay MTU they were made against, and the time taken.
pub struct Diagnosis {
    pub checks: Vec<Check>,
    pub overlay_mtu: u32,
    pub seconds: f64,
}

/// Probes every server and pair on a temporary overlay network of `mtu`,
/// encrypted when `encrypted`; and the ports of every cluster on the
/// servers' own network, and of `port`'s block if given.
pub async fn diagnose(
    ctx: &Context,
    engine: &Engine,
    mtu: Option<u32>,
    encrypted: bool,
    port: Option<PortBlock>,
) -> Result<Diagnosis> {
    let started = Instant::now();
    membership::require_manager(engine).await?;
    let all = servers::sorted(membership::list_nodes(engine).await?);
    let usable: Vec<Server> = all.iter().filter(|s| s.usable()).cloned().collect();
    let record = StateDir::new(&ctx.settings.state_dir).node_image_or_default()?;
    let (image, image_fix) = (record.image.clone(), record.build_command());
    let blocks = host_blocks(engine, port).await?;
    // What an interrupted doctor left.
    probes::remove(engine, REMOVE_LIMIT).await?;
    let listen: Vec<u16> = blocks.iter().flat_map(HostBlock::probed).collect();
    let spec = ProbeSpec {
        image,
        script: PROBE.to_string(),
        mtu,
        encrypted,
        env: probe_env(&usable, &listen),
        listen,
    };
    ctx.printer.info(format!(
        "probing {} server(s) (at most {} s)",
        usable.len(),
        REPORT_LIMIT.as_secs()
    ));
    let outcomes = match probes::start(engine, &spec).await {
        Ok(()) => collect(engine, &usable, &ctx.cancel).await,
        Err(error) => Err(error),
    };
    let removed = probes::remove(engine, REMOVE_LIMIT).await;
    let (outcomes, overlay_mtu) = outcomes?;
    removed?;
    // What --mtu adds to the containers' MTU: measured, or Docker 20.10's 50.
    let option_offset = mtu.map_or(50, |asked| asked.saturating_sub(overlay_mtu));
    let mtus = diagnosis::ProbeNetwork {
        overlay: overlay_mtu,
        option_offset,
        encrypted,
    };
    let mut checks = diagnosis::checks(&usable, &outcomes, mtus, &image_fix, &blocks);
    checks.extend(all.iter().filter(|s| !s.usable()).map(unusable));
    Ok(Diagnosis {
        checks,
        overlay_mtu,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What each probe is told: the servers, and the listeners' ports.
fn probe_env(usable: &[Server], listen: &[u16]) -> Vec<String> {
    let words = |items: Vec<String>| items.join(" ");
    vec![
        format!("SWARMPI_DOCTOR_SERVICE={DOCTOR}"),
        format!("SWARMPI_DOCTOR_EXPECT={}", usable.len()),
        format!(
            "SWARMPI_DOCTOR_SERVERS={}",
            words(usable.iter().map(|s| s.addr.clone()).collect())
        ),
        format!(
            "SWARMPI_DOCTOR_HOST_PORTS={}",
            words(listen.iter().map(u16::to_string).collect())
        ),
    ]
}

/// The blocks of ports to check: every host-network cluster's on the
/// swarm, and the one asked for (before deploying one).
async fn host_blocks(engine: &Engine, asked: Option<PortBlock>) -> Result<Vec<HostBlock>> {
    let none = ClusterNames {
        cluster: DOCTOR.into(),
    };
    let mut blocks: Vec<HostBlock> = service::port_blocks_in_use(engine, &none)
        .await?
        .into_iter()
        .map(|(cluster, block)| HostBlock {
            whose: format!("cluster {cluster}"),
            block,
        })
        .collect();
    if let Some(block) = asked.filter(|b| !blocks.iter().any(|known| known.block == *b)) {
        blocks.push(HostBlock {
            whose: "--port".into(),
            block,
        });
    }
    blocks.sort_by_key(|b| b.block.base);
    Ok(blocks)
}

/// Waits for every server's probe to report or fail; what has not by the
/// bound is Silent. Returns the outcomes and the overlay's MTU.
async fn collect(
    engine: &Engine,
    usable: &[Server],
    cancel: &Cancel,
) -> Result<(BTreeMap<String, ProbeOutcome>, u32)> {
    let mut latest: BTreeMap<String, ProbeOutcome> = BTreeMap::new();
    let mut mtu = None;
    let waited = Wait::new("every server's probe to report", REPORT_LIMIT, cancel)
        .every(Duration::from_millis(500))
        .until(async || {
            let tasks = probes::tasks(engine).await?;
            for server in usable {
                if let Some(task) = tasks.iter().find(|t| t.node_id == server.id) {
                    let (outcome, seen_mtu) = outcome_of(engine, task).await?;
                    mtu = mtu.or(seen_mtu);
                    latest.insert(server.addr.clone(), outcome);
                }
            }
            let settled = usable
                .iter()
                .all(|s| latest.get(&s.addr).is_some_and(|o| o != &ProbeOutcome::Silent));
            Ok(settled.then_some(()))
        })
        .await;
    match waited {
        Err(error) if !error.is::<crate::wait::TimedOut>() => return Err(error),
        _ => {}
    }
    Ok((latest, mtu.unwrap_or(0)))
}

async fn outcome_of(engine: &Engine, task: &ProbeTask) -> Result<(ProbeOutcome, Option<u32>)> {
    if let Some(error) = &task.error {
        return Ok((ProbeOutcome::Failed(error.clone()), None));
    }
    if !task.running {
        return Ok((ProbeOutcome::Silent, None));
    }
    let log = probes::log(engine, &task.id).await?;
    let probe = Probe::parse(&log);
    let mtu = log
        .lines()
        .find_map(|l| l.strip_prefix("doctor overlay-mtu "))
        .and_then(|m| m.trim().parse().ok());
    Ok(if probe.done {
        (ProbeOutcome::Reported(probe), mtu)
    } else {
        (ProbeOutcome::Silent, mtu)
    })
}

fn unusable(server: &Server) -> Check {
    Check {
        subject: format!("server {}", server.addr),
        check: "swarm state".into(),
        ok: false,
        detail: format!("{} ({})", server.state, server.availability),
        fix: Some("start its Docker (or `docker node update --availability active`); a server that left: `docker node rm` it".into()),
    }
}
