//! `swarmpi down`: remove a cluster's service, gateway, network, secrets and
//! local state, on every server. Idempotent.

use std::time::Duration;

use anyhow::Result;

use crate::cluster::names::ClusterNames;
use crate::context::Context;
use crate::converge;
use crate::error::{ExitCode, Outcome, UserError};
use crate::state::StateDir;
use crate::swarm::{Engine, membership, removal};

const SHUTDOWN_WAIT: Duration = Duration::from_secs(60);

pub async fn run(ctx: &Context, names: ClusterNames) -> Result<Outcome> {
    let (names, printer) = (&names, &ctx.printer);
    let engine = Engine::connect(&ctx.settings).await?;
    membership::require_manager(&engine).await?;
    let states = StateDir::new(&ctx.settings.state_dir);
    let _lock = converge::hold_lock(ctx, &states, names).await?;
    let spinner = printer.spinner(format!("removing cluster {}", names.cluster));
    let removal = removal::remove_cluster(&engine, names, SHUTDOWN_WAIT, &ctx.cancel).await;
    spinner.finish_and_clear();
    for object in &removal.removed {
        printer.info(format!("removed {object}"));
    }
    if !removal.left.is_empty() {
        // The state (and key) stay until everything is gone.
        let left = removal.left.join("\n  ");
        return Err(UserError::new(
            ExitCode::ClusterNotReady,
            format!("could not remove everything:\n  {left}"),
        )
        .hint(format!(
            "run `swarmpi down --name {}` again (once the servers named are back)",
            names.cluster
        ))
        .into());
    }
    let state_removed = states.remove(&names.cluster)?;
    if removal.removed.is_empty() && !state_removed {
        printer.info(format!(
            "cluster {} does not exist: nothing to remove",
            names.cluster
        ));
        return Ok(Outcome::Success);
    }
    if state_removed {
        printer.info(format!(
            "removed the local state and key of cluster {}",
            names.cluster
        ));
    }
    Ok(Outcome::Success)
}
