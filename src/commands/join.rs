//! `swarmpi join <token>`: join this Docker host to the swarm as a worker and
//! prepare the node image.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Result;

use crate::cluster::token::JoinToken;
use crate::config::Settings;
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;
use crate::swarm::membership::{self, Membership};
use crate::swarm::{Engine, image};

const REACH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct JoinOptions {
    pub token: String,
    pub advertise_addr: Option<IpAddr>,
    pub image: Option<String>,
}

pub async fn run(settings: &Settings, options: JoinOptions, printer: &Printer) -> Result<()> {
    let token = JoinToken::parse(&options.token)?;
    let engine = Engine::connect(settings).await?;
    match membership::membership(&engine).await? {
        Membership::NotInSwarm => {}
        Membership::Worker { managers, .. } if managers.contains(&token.manager_addr) => {
            printer.info(format!(
                "this Docker host is already a member of the swarm at {}",
                token.manager_addr
            ));
            image::ensure_node_image(&engine, options.image.as_deref(), printer).await?;
            return Ok(());
        }
        Membership::Manager { addr, .. }
            if format!("{addr}:{}", membership::SWARM_PORT) == token.manager_addr =>
        {
            printer.info("this Docker host is the manager of that swarm already");
            image::ensure_node_image(&engine, options.image.as_deref(), printer).await?;
            return Ok(());
        }
        other => return Err(already_in_another_swarm(&other, &token).into()),
    }
    let advertise = super::advertise_addr(options.advertise_addr)?;
    membership::tcp_reachable(&token.manager_addr, REACH_TIMEOUT)
        .await
        .map_err(|cause| {
            UserError::new(
                ExitCode::Unreachable,
                format!("cannot reach the manager at {}: {cause}", token.manager_addr),
            )
            .hint("check the address in the token and that the manager's 2377/tcp is open to this server")
        })?;
    membership::join(&engine, &token, advertise).await?;
    printer.info(format!(
        "joined the swarm at {} as a worker ({advertise})",
        token.manager_addr
    ));
    if let Err(error) = image::ensure_node_image(&engine, options.image.as_deref(), printer).await {
        // A member without the node image would only get rejected tasks.
        let _ = membership::leave(&engine, false).await;
        printer.warn("left the swarm again, since this server cannot run swarmpi nodes without the image");
        return Err(error);
    }
    printer.info("this server is ready: run `swarmpi deploy` on the manager");
    Ok(())
}

fn already_in_another_swarm(state: &Membership, token: &JoinToken) -> UserError {
    let described = match state {
        Membership::Worker { managers, .. } => {
            format!("is a worker of another swarm (managers: {})", managers.join(", "))
        }
        Membership::Manager { addr, .. } => format!("is the manager of another swarm ({addr})"),
        Membership::Unusable { state, .. } => format!("has a swarm in state {state}"),
        Membership::NotInSwarm => unreachable!("not called for hosts outside a swarm"),
    };
    UserError::new(
        ExitCode::SwarmState,
        format!(
            "this Docker host {described}, not the one at {}",
            token.manager_addr
        ),
    )
    .hint("run `swarmpi leave` here first (it stops what that swarm runs on this host), then join again")
}
