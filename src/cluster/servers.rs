//! The swarm's servers as swarmpi reasons about them, and what their state
//! means for a deploy: which are usable, which was lost.

use serde::Serialize;

use crate::error::{ExitCode, UserError};

/// One server of the swarm, as the manager sees it. Serialized as is in
/// `status --json` ("nodes").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub id: String,
    pub hostname: String,
    pub addr: String,
    pub role: String,
    pub availability: Availability,
    pub state: NodeState,
    pub cpus: u32,
    pub leader: bool,
    /// Its Docker Engine's version, as the swarm reports it.
    #[serde(default)]
    pub engine_version: String,
}

/// Whether the swarm places tasks on a server (as Docker names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Active,
    Pause,
    Drain,
    /// A value this swarmpi does not know.
    Other,
}

/// How the swarm sees a server (as Docker names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Ready,
    Down,
    Unknown,
    Disconnected,
}

impl Availability {
    /// Docker's word for it.
    pub fn parse(word: &str) -> Availability {
        match word {
            "active" => Availability::Active,
            "pause" => Availability::Pause,
            "drain" => Availability::Drain,
            _ => Availability::Other,
        }
    }
}

impl NodeState {
    /// Docker's word for it; anything else is `Unknown`.
    pub fn parse(word: &str) -> NodeState {
        match word {
            "ready" => NodeState::Ready,
            "down" => NodeState::Down,
            "disconnected" => NodeState::Disconnected,
            _ => NodeState::Unknown,
        }
    }
}

/// Both print as `status --json` spells them.
macro_rules! display_as_serialized {
    ($($kind:ty),*) => {$(
        impl std::fmt::Display for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let word = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
                f.pad(word.as_str().unwrap_or_default())
            }
        }
    )*};
}
display_as_serialized!(Availability, NodeState);

impl Server {
    /// Ready and Active: swarmpi places containers here.
    pub fn usable(&self) -> bool {
        self.state == NodeState::Ready && self.availability == Availability::Active
    }

    /// `server 10.77.0.3`, for messages.
    pub fn label(&self) -> String {
        format!("server {}", self.addr)
    }
}

/// Servers in a stable order: the leader first, then by address.
pub fn sorted(mut servers: Vec<Server>) -> Vec<Server> {
    servers.sort_by(|a, b| (!a.leader, &a.addr, &a.id).cmp(&(!b.leader, &b.addr, &b.id)));
    servers
}

/// A server the plan placed containers on that is no longer Ready and
/// Active: its containers will not come, so a deploy says so at once.
pub fn lost_server(planned: &[Server], now: &[Server]) -> Option<UserError> {
    let lost = planned
        .iter()
        .find(|p| !now.iter().any(|s| s.id == p.id && s.usable()))?;
    let state = now.iter().find(|s| s.id == lost.id).map_or_else(
        || "gone from the swarm".to_string(),
        |s| format!("{} ({})", s.state, s.availability),
    );
    Some(
        UserError::new(
            ExitCode::Unreachable,
            format!("{} stopped answering during deploy: it is now {state}", lost.label()),
        )
        .hint("repair that server (is its Docker daemon running and reachable?), or drain it with `docker node update --availability drain`, then deploy again"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn server(id: &str, addr: &str, state: &str) -> Server {
        Server {
            id: id.into(),
            hostname: "host".into(),
            addr: addr.into(),
            role: "worker".into(),
            availability: Availability::Active,
            state: NodeState::parse(state),
            cpus: 2,
            leader: false,
            engine_version: "20.10.24".into(),
        }
    }

    #[test]
    fn only_ready_active_servers_are_usable() {
        assert!(server("a", "10.0.0.1", "ready").usable());
        assert!(!server("a", "10.0.0.1", "down").usable());
        let mut drained = server("a", "10.0.0.1", "ready");
        drained.availability = Availability::Drain;
        assert!(!drained.usable());
    }

    #[test]
    fn names_the_server_that_was_lost() {
        let planned = vec![server("a", "10.0.0.1", "ready"), server("b", "10.0.0.2", "ready")];
        assert!(lost_server(&planned, &planned).is_none());
        let now = vec![planned[0].clone(), server("b", "10.0.0.2", "down")];
        let error = lost_server(&planned, &now).unwrap();
        assert_eq!(error.code, ExitCode::Unreachable);
        assert_eq!(
            error.message,
            "server 10.0.0.2 stopped answering during deploy: it is now down (active)"
        );
        let gone = lost_server(&planned, &planned[..1]).unwrap();
        assert!(
            gone.message.ends_with("it is now gone from the swarm"),
            "{}",
            gone.message
        );
    }

    #[test]
    fn the_leader_comes_first() {
        let mut leader = server("z", "10.0.0.9", "ready");
        leader.leader = true;
        let sorted = sorted(vec![
            server("b", "10.0.0.2", "ready"),
            leader,
            server("a", "10.0.0.1", "ready"),
        ]);
        let addrs: Vec<&str> = sorted.iter().map(|s| s.addr.as_str()).collect();
        assert_eq!(addrs, ["10.0.0.9", "10.0.0.1", "10.0.0.2"]);
    }
}
