//! Small network facts about this host that need no Docker: the address
//! other servers most likely reach it at, and whether a TCP port answers.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::error::UserError;

/// The address of the interface that holds the default route. Connecting a
/// UDP socket sends nothing; it only makes the kernel pick the source address.
pub fn default_route_addr() -> Result<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").context("could not open a UDP socket")?;
    socket.connect("192.0.2.1:9").map_err(|e| {
        UserError::usage(format!("could not find this host's address: {e}"))
            .hint("this host has no default route: pass --advertise-addr with the address other servers reach it at")
    })?;
    Ok(socket.local_addr()?.ip())
}

/// The address to advertise: the user's, or the default route's.
pub fn advertise_addr(explicit: Option<IpAddr>) -> Result<IpAddr> {
    match explicit {
        Some(addr) => Ok(addr),
        None => default_route_addr(),
    }
}

/// The MTU of this host's interface that holds `addr` (e.g. the swarm's
/// advertise address), from `ip` (netlink: the MTU of this process's own
/// network namespace, which /sys need not be); None if it cannot be
/// learned.
pub fn interface_mtu(addr: &str) -> Option<u32> {
    let output = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .ok()?;
    let listing = String::from_utf8_lossy(&output.stdout);
    // "2: eth0    inet 10.77.0.2/24 brd ... scope global eth0"
    let interface = listing.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let inet = words.iter().position(|w| *w == "inet")?;
        let address = words.get(inet + 1)?.split('/').next()?;
        (address == addr).then(|| words.get(1).map(|i| i.trim_end_matches(':').to_string()))?
    })?;
    let link = std::process::Command::new("ip")
        .args(["-o", "link", "show", "dev", &interface])
        .output()
        .ok()?;
    // "2: eth0@if5: <BROADCAST,...> mtu 1500 qdisc ..."
    let text = String::from_utf8_lossy(&link.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "mtu")?;
    words.get(at + 1)?.parse().ok()
}

/// Whether a TCP connection to `addr` opens within `timeout`.
pub async fn tcp_reachable(addr: &str, timeout: Duration) -> std::result::Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}
