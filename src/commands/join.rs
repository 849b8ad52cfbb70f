//! `swarmpi join <token>`: join this Docker host to the swarm as a worker and
//! prepare the node image.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Result;

use crate::cli::JoinArgs;
use crate::cluster::token::{JoinToken, SWARM_PORT};
use crate::context::Context;
use crate::error::{ExitCode, Outcome, UserError};
use crate::interrupt::Cancel;
use crate::net;
use crate::node_image::{self, ImageChoice};
use crate::swarm::Engine;
use crate::swarm::membership::{self, Membership};

const REACH_TIMEOUT: Duration = Duration::from_secs(5);
/// More than any token: a line longer than this is not one.
const TOKEN_LINE_LIMIT: u64 = 4096;

pub struct JoinOptions {
    pub token: String,
    pub advertise_addr: Option<IpAddr>,
    pub image: ImageChoice,
}

impl TryFrom<JoinArgs> for JoinOptions {
    type Error = anyhow::Error;

    fn try_from(args: JoinArgs) -> Result<Self> {
        Ok(JoinOptions {
            token: args.token,
            advertise_addr: args.advertise_addr,
            image: args.image.try_into()?,
        })
    }
}

pub async fn run(ctx: &Context, options: JoinOptions) -> Result<Outcome> {
    let token = JoinToken::parse(&token_text(ctx, &options.token)?)?;
    let engine = Engine::connect(&ctx.settings).await?;
    let image = &options.image;
    match membership::membership(&engine).await? {
        Membership::NotInSwarm => {}
        Membership::Worker { managers, .. } if managers.contains(&token.manager_addr) => {
            let manager = &token.manager_addr;
            ctx.printer.info(format!(
                "this Docker host is already a member of the swarm at {manager}"
            ));
            node_image::ensure(ctx, &engine, image).await?;
            return Ok(Outcome::Success);
        }
        Membership::Manager { addr, .. } if format!("{addr}:{SWARM_PORT}") == token.manager_addr => {
            ctx.printer
                .info("this Docker host is the manager of that swarm already");
            node_image::ensure(ctx, &engine, image).await?;
            return Ok(Outcome::Success);
        }
        other => return Err(already_in_another_swarm(&other, &token).into()),
    }
    let advertise = net::advertise_addr(options.advertise_addr)?;
    check_reachable(&token).await?;
    join(ctx, &engine, &token, advertise).await?;
    if let Err(error) = node_image::ensure(ctx, &engine, image).await {
        // A member without the node image would only get rejected tasks.
        let _ = membership::leave(&engine, false).await;
        ctx.printer
            .warn("left the swarm again, since this server cannot run swarmpi nodes without the image");
        return Err(error);
    }
    ctx.printer
        .info("this server is ready: run `swarmpi deploy` on the manager");
    Ok(Outcome::Success)
}

async fn check_reachable(token: &JoinToken) -> Result<()> {
    let manager = &token.manager_addr;
    net::tcp_reachable(manager, REACH_TIMEOUT)
        .await
        .map_err(|cause| {
            UserError::new(
                ExitCode::Unreachable,
                format!("cannot reach the manager at {manager}: {cause}"),
            )
            .hint(format!("check the address in the token and that the manager's {SWARM_PORT}/tcp is open to this server"))
        })?;
    Ok(())
}

/// Joins; Ctrl-C undoes a join under way, leaving the host as it was.
async fn join(ctx: &Context, engine: &Engine, token: &JoinToken, advertise: IpAddr) -> Result<()> {
    tokio::select! {
        joined = membership::join(engine, token, advertise) => joined?,
        () = ctx.cancel.cancelled() => {
            let _ = membership::leave(engine, true).await;
            return Err(Cancel::error("joining the swarm"));
        }
    }
    let manager = &token.manager_addr;
    ctx.printer
        .info(format!("joined the swarm at {manager} as a worker ({advertise})"));
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

/// The token as given, or, for `-`, the first line of standard input
/// (asked for on a terminal).
fn token_text(ctx: &Context, given: &str) -> Result<String> {
    use std::io::{BufRead as _, IsTerminal as _, Read as _};
    if given != "-" {
        return Ok(given.to_string());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        ctx.printer
            .info("paste the join token (the `SWMTKN-...@MANAGER:PORT` that `swarmpi init` printed):");
    }
    let mut line = String::new();
    stdin
        .lock()
        .take(TOKEN_LINE_LIMIT)
        .read_line(&mut line)
        .map_err(|e| UserError::usage(format!("could not read the token from standard input: {e}")))?;
    // The whole `swarmpi join TOKEN` line pasted is taken too.
    let token = line.split_whitespace().last().unwrap_or_default();
    if token.is_empty() {
        return Err(UserError::usage("no join token on standard input")
            .hint("pipe or paste the token `swarmpi init` printed, e.g. `swarmpi join - < token.txt`")
            .into());
    }
    Ok(token.to_string())
}
