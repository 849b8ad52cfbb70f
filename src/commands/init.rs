//! `swarmpi init`: make this Docker host a swarm manager, prepare the node
//! image, and print the line to run on every other server.

use std::net::IpAddr;

use anyhow::Result;
use serde_json::json;

use crate::cli::InitArgs;
use crate::context::Context;
use crate::error::{ExitCode, Outcome, UserError};
use crate::net;
use crate::node_image::{self, ImageChoice};
use crate::swarm::Engine;
use crate::swarm::membership::{self, Membership};

pub struct InitOptions {
    pub advertise_addr: Option<IpAddr>,
    pub image: ImageChoice,
}

impl TryFrom<InitArgs> for InitOptions {
    type Error = anyhow::Error;

    fn try_from(args: InitArgs) -> Result<Self> {
        Ok(InitOptions {
            advertise_addr: args.advertise_addr,
            image: args.image.try_into()?,
        })
    }
}

pub async fn run(ctx: &Context, options: InitOptions) -> Result<Outcome> {
    let engine = Engine::connect(&ctx.settings).await?;
    let manager_addr = current_manager(ctx, &membership::membership(&engine).await?)?;
    let advertise = net::advertise_addr(options.advertise_addr)?;
    // The image first: the longest step, and the one most likely to fail.
    let image = node_image::ensure(ctx, &engine, &options.image).await?;
    let manager_addr = match manager_addr {
        Some(addr) => addr,
        None => {
            membership::init(&engine, advertise).await?;
            ctx.printer
                .info(format!("this Docker host is now a swarm manager ({advertise})"));
            advertise.to_string()
        }
    };
    let token = membership::worker_token(&engine, &manager_addr).await?;
    // Every server gets the same image: the join line carries the options.
    let join_line = format!("swarmpi join {token}{}", options.image.flags());
    if ctx.printer.json_mode() {
        ctx.printer.json(&json!({ "manager": manager_addr, "image": image, "token": token.to_string(), "join_command": join_line }));
    } else {
        ctx.printer.info("\nto add a server, run this on it:\n");
        ctx.printer.data(format!("    {join_line}"));
        ctx.printer.info(format!(
            "\nor, to keep the token off its command line (ps, shell history), run\n\n    \
             swarmpi join -{}\n\nthere and paste the token. Then `swarmpi deploy` here.",
            options.image.flags()
        ));
    }
    Ok(Outcome::Success)
}

/// This host's manager address if it manages a swarm already, None if it is
/// in none; an error if it is in a swarm it cannot manage.
fn current_manager(ctx: &Context, state: &Membership) -> Result<Option<String>> {
    match state {
        Membership::Manager { addr, .. } => {
            ctx.printer
                .info(format!("this Docker host is already a swarm manager ({addr})"));
            Ok(Some(addr.clone()))
        }
        Membership::Worker { managers, .. } => Err(UserError::new(
            ExitCode::SwarmState,
            format!(
                "this Docker host is a worker in a swarm managed by {}",
                managers.join(", ")
            ),
        )
        .hint("run `swarmpi init` on that manager instead, or `swarmpi leave` here first")
        .into()),
        Membership::Unusable { state, error } => Err(UserError::new(
            ExitCode::SwarmState,
            format!("this Docker host's swarm is {state}: {error}"),
        )
        .hint("repair it with docker, or `swarmpi leave --force` and start again")
        .into()),
        Membership::NotInSwarm => Ok(None),
    }
}
