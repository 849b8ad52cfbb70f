//! `swarmpi leave`: take this Docker host out of its swarm.

use anyhow::Result;

use crate::config::Settings;
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;
use crate::swarm::Engine;
use crate::swarm::membership::{self, Membership};

pub struct LeaveOptions {
    pub force: bool,
}

pub async fn run(settings: &Settings, options: LeaveOptions, printer: &Printer) -> Result<()> {
    let engine = Engine::connect(settings).await?;
    match membership::membership(&engine).await? {
        Membership::NotInSwarm => {
            printer.info("this Docker host is not in a swarm: nothing to do");
            return Ok(());
        }
        Membership::Manager { .. } => {
            let others = membership::list_nodes(&engine).await?.len().saturating_sub(1);
            if others > 0 && !options.force {
                return Err(UserError::new(
                    ExitCode::SwarmState,
                    format!("this Docker host manages a swarm with {others} other server(s)"),
                )
                .hint("run `swarmpi leave` on the other servers first, or pass --force to abandon them")
                .into());
            }
            // Docker insists on force for the last manager: that is the point here.
            membership::leave(&engine, true).await?;
        }
        Membership::Worker { .. } | Membership::Unusable { .. } => {
            membership::leave(&engine, options.force).await?;
        }
    }
    printer.info("this Docker host left the swarm");
    Ok(())
}
