//! Opening a cluster for work, healing it first: when the swarm replaced a
//! container (killed, crashed, its server restarted) or the gateway is gone,
//! the cluster is deployed again as its state says — new host keys and
//! addresses learned, files given to every container — in one line of
//! output. Faults that a redeploy of the same shape cannot cure (a server
//! down, a rejected task) fail at once, naming the server.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::access::{self, Deployed, OpenCluster, Unanswered};
use crate::cluster::names::ClusterNames;
use crate::cluster::observe::{self, FAULT_HINT};
use crate::context::Context;
use crate::converge;
use crate::error::{ExitCode, UserError};
use crate::wait::Wait;

/// How long a container that stopped answering may take to be replaced:
/// the swarm notices a dead container within seconds, and restarts it
/// after its delay; a busy server takes longer.
const REPLACE_LIMIT: Duration = Duration::from_secs(60);

/// Why the deployed cluster needs a repair before use, if it does; a fault
/// no repair of the same shape cures is an error.
pub fn needs_repair(names: &ClusterNames, deployed: &Deployed) -> Result<Option<String>> {
    if let Some(fault) = deployed.seen.faults.first() {
        let message = format!("cluster {} is not ready: {fault}", names.cluster);
        return Err(UserError::new(ExitCode::ClusterNotReady, message)
            .hint(FAULT_HINT)
            .into());
    }
    if let Some(reason) = observe::unusable_because(&names.cluster, &deployed.state.members, &deployed.seen) {
        return Ok(Some(reason));
    }
    Ok(access::gateway_missing(names, deployed))
}

/// The cluster, repaired if need be, with a session to every member. A
/// container that does not answer may have died a moment ago: the swarm is
/// given time to notice and replace it, and the replacement is healed in.
pub async fn open(ctx: &Context, names: &ClusterNames) -> Result<OpenCluster> {
    let deployed = repaired(ctx, names).await?;
    match access::open_cluster(ctx, names, deployed).await {
        Err(error) if error.is::<Unanswered>() => {
            ctx.printer.info(format!(
                "{error}: waiting for the swarm to replace it (at most {} s)",
                REPLACE_LIMIT.as_secs()
            ));
            let what = format!("the swarm to replace a container of cluster {}", names.cluster);
            let noticed = Wait::new(what, REPLACE_LIMIT, &ctx.cancel)
                .every(Duration::from_millis(500))
                .until(async || {
                    let deployed = access::observe_deployed(ctx, names).await?;
                    Ok(needs_repair(names, &deployed)?.map(|_| ()))
                })
                .await;
            match noticed {
                Ok(()) => {}
                Err(waited) if waited.is::<crate::wait::TimedOut>() => return Err(error),
                Err(other) => return Err(other),
            }
            let deployed = repaired(ctx, names).await?;
            access::open_cluster(ctx, names, deployed).await
        }
        result => result,
    }
}

/// The deployed cluster as observed, repaired first if it needs it.
async fn repaired(ctx: &Context, names: &ClusterNames) -> Result<Deployed> {
    let mut deployed = access::observe_deployed(ctx, names).await?;
    if let Some(reason) = needs_repair(names, &deployed)? {
        let started = Instant::now();
        converge::repair(ctx, &deployed.state)
            .await
            .with_context(|| format!("could not repair cluster {} ({reason})", names.cluster))?;
        ctx.printer.info(format!(
            "repaired cluster {} in {:.1} s: {reason}; host keys, known_hosts and hostfile updated everywhere",
            names.cluster,
            started.elapsed().as_secs_f64()
        ));
        deployed = access::observe_deployed(ctx, names).await?;
    }
    Ok(deployed)
}

/// Runs `work` on the opened (and, if need be, repaired) cluster, closing
/// its sessions whatever `work` returns.
pub async fn with_cluster<T>(
    ctx: &Context,
    names: &ClusterNames,
    work: impl AsyncFnOnce(&OpenCluster) -> Result<T>,
) -> Result<T> {
    let cluster = open(ctx, names).await?;
    let result = work(&cluster).await;
    cluster.close().await;
    result
}
