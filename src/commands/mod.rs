//! One file per subcommand. Each handler takes resolved settings and options,
//! calls into `swarm`, `ssh` and `cluster`, and reports through the printer.

pub mod deploy;
pub mod down;
pub mod exec;
pub mod init;
pub mod join;
pub mod leave;
pub mod run;
pub mod status;

use std::net::IpAddr;

use anyhow::Result;

use crate::swarm::membership;

/// The address to advertise: the user's, or the default route's.
fn advertise_addr(explicit: Option<IpAddr>) -> Result<IpAddr> {
    match explicit {
        Some(addr) => Ok(addr),
        None => membership::default_route_addr(),
    }
}
