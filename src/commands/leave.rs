//! `swarmpi leave`: take this Docker host out of its swarm.

use anyhow::Result;

use crate::cli::LeaveArgs;
use crate::context::Context;
use crate::error::{ExitCode, Outcome, UserError};
use crate::swarm::Engine;
use crate::swarm::membership::{self, Membership};

pub struct LeaveOptions {
    pub force: bool,
}

impl From<LeaveArgs> for LeaveOptions {
    fn from(args: LeaveArgs) -> Self {
        LeaveOptions { force: args.force }
    }
}

pub async fn run(ctx: &Context, options: LeaveOptions) -> Result<Outcome> {
    let engine = Engine::connect(&ctx.settings).await?;
    match membership::membership(&engine).await? {
        Membership::NotInSwarm => {
            ctx.printer
                .info("this Docker host is not in a swarm: nothing to do");
            return Ok(Outcome::Success);
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
    ctx.printer.info("this Docker host left the swarm");
    Ok(Outcome::Success)
}
