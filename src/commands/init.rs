//! `swarmpi init`: make this Docker host a swarm manager, prepare the node
//! image, and print the line to run on every other server.

use std::net::IpAddr;

use anyhow::Result;
use serde_json::json;

use crate::config::Settings;
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;
use crate::swarm::membership::{self, Membership};
use crate::swarm::{Engine, image};

pub struct InitOptions {
    pub advertise_addr: Option<IpAddr>,
    pub image: Option<String>,
}

pub async fn run(settings: &Settings, options: InitOptions, printer: &Printer) -> Result<()> {
    let engine = Engine::connect(settings).await?;
    let state = membership::membership(&engine).await?;
    let manager_addr = match &state {
        Membership::Manager { addr, .. } => {
            printer.info(format!("this Docker host is already a swarm manager ({addr})"));
            Some(addr.clone())
        }
        Membership::Worker { managers, .. } => {
            return Err(UserError::new(
                ExitCode::SwarmState,
                format!(
                    "this Docker host is a worker in a swarm managed by {}",
                    managers.join(", ")
                ),
            )
            .hint("run `swarmpi init` on that manager instead, or `swarmpi leave` here first")
            .into());
        }
        Membership::Unusable { state, error } => {
            return Err(UserError::new(
                ExitCode::SwarmState,
                format!("this Docker host's swarm is {state}: {error}"),
            )
            .hint("repair it with docker, or `swarmpi leave --force` and start again")
            .into());
        }
        Membership::NotInSwarm => None,
    };
    let advertise = super::advertise_addr(options.advertise_addr)?;
    // The image first: the longest step, and the one most likely to fail.
    let image = image::ensure_node_image(&engine, options.image.as_deref(), printer).await?;
    let manager_addr = match manager_addr {
        Some(addr) => addr,
        None => {
            membership::init(&engine, advertise).await?;
            printer.info(format!("this Docker host is now a swarm manager ({advertise})"));
            advertise.to_string()
        }
    };
    let token = membership::worker_token(&engine, &manager_addr).await?;
    let join_line = format!("swarmpi join {token}");
    if printer.json_mode() {
        printer.json(&json!({ "manager": manager_addr, "image": image, "token": token.to_string(), "join_command": join_line }));
    } else {
        printer.info("\nto add a server, run this on it:\n");
        printer.data(format!("    {join_line}"));
        printer.info("\nthen `swarmpi deploy` here.");
    }
    Ok(())
}
