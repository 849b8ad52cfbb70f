//! The join token: a Docker swarm worker token and the manager's address,
//! carried as one argument so `swarmpi join <token>` needs nothing else.
//!
//! Format: `SWMTKN-1-<ca digest>-<secret>@<manager host>:<port>`.

use std::fmt;

use crate::error::{ExitCode, UserError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// Docker's own join token, `SWMTKN-1-...`.
    pub swarm_token: String,
    /// The manager's swarm address, `host:port`.
    pub manager_addr: String,
}

const DOCKER_PREFIX: &str = "SWMTKN-1-";
/// The swarm's management port (Docker's default).
pub const SWARM_PORT: u16 = 2377;

impl JoinToken {
    pub fn new(swarm_token: impl Into<String>, manager_addr: impl Into<String>) -> Self {
        JoinToken {
            swarm_token: swarm_token.into(),
            manager_addr: manager_addr.into(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, UserError> {
        let text = text.trim();
        let malformed = |what: &str| {
            UserError::new(ExitCode::Token, format!("malformed join token: {what}")).hint(
                "copy the whole `swarmpi join ...` line that `swarmpi init` printed on the manager \
                 (run `swarmpi init` there again to print it)",
            )
        };
        let (swarm_token, addr) = text
            .rsplit_once('@')
            .ok_or_else(|| malformed("no '@MANAGER:PORT' part"))?;
        check_swarm_token(swarm_token).map_err(|what| malformed(&what))?;
        let manager_addr = normalize_addr(addr).map_err(|what| malformed(&what))?;
        Ok(JoinToken::new(swarm_token, manager_addr))
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.swarm_token, self.manager_addr)
    }
}

/// Docker's token is `SWMTKN-1-` + a 50-char CA digest + `-` + a 25-char secret,
/// both lowercase base 36.
fn check_swarm_token(token: &str) -> Result<(), String> {
    let rest = token
        .strip_prefix(DOCKER_PREFIX)
        .ok_or_else(|| format!("the swarm part must start with '{DOCKER_PREFIX}'"))?;
    let (digest, secret) = rest
        .split_once('-')
        .ok_or_else(|| "the swarm part must be SWMTKN-1-<digest>-<secret>".to_string())?;
    let base36 = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if digest.len() != 50 || !base36(digest) {
        return Err("the CA digest must be 50 lowercase letters or digits".into());
    }
    if secret.len() != 25 || !base36(secret) {
        return Err("the secret must be 25 lowercase letters or digits".into());
    }
    Ok(())
}

/// `host`, `host:port`, `[v6]:port` -> `host:port` with the default swarm port.
fn normalize_addr(addr: &str) -> Result<String, String> {
    if addr.is_empty() {
        return Err("the manager address after '@' is empty".into());
    }
    let (host, port) = match addr.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && !host.is_empty() && !is_bare_ipv6(addr) => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("'{port}' is not a port number"))?;
            (host, port)
        }
        _ => (addr, SWARM_PORT),
    };
    if port == 0 {
        return Err("the manager port must not be 0".into());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let valid_host = bare.parse::<std::net::IpAddr>().is_ok()
        || (!bare.is_empty()
            && bare
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if !valid_host {
        return Err(format!("'{host}' is not a host name or IP address"));
    }
    Ok(match bare.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{bare}]:{port}"),
        Err(_) => format!("{bare}:{port}"),
    })
}

fn is_bare_ipv6(addr: &str) -> bool {
    addr.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str =
        "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";

    #[test]
    fn round_trips_through_display() {
        let token = JoinToken::parse(&format!("{DOCKER}@10.77.0.2:2377")).unwrap();
        assert_eq!(token.swarm_token, DOCKER);
        assert_eq!(token.manager_addr, "10.77.0.2:2377");
        assert_eq!(JoinToken::parse(&token.to_string()).unwrap(), token);
    }

    #[test]
    fn adds_the_default_port() {
        let token = JoinToken::parse(&format!("{DOCKER}@manager.example")).unwrap();
        assert_eq!(token.manager_addr, "manager.example:2377");
        let token = JoinToken::parse(&format!("{DOCKER}@fd00::1")).unwrap();
        assert_eq!(token.manager_addr, "[fd00::1]:2377");
        let token = JoinToken::parse(&format!("{DOCKER}@[fd00::1]:4000")).unwrap();
        assert_eq!(token.manager_addr, "[fd00::1]:4000");
    }

    #[test]
    fn rejects_malformed_tokens_with_the_reason() {
        let cases = [
            ("hello", "no '@MANAGER:PORT'"),
            (&format!("{DOCKER}@"), "empty"),
            (&format!("{DOCKER}@10.0.0.1:99999"), "not a port"),
            (&format!("{DOCKER}@10.0.0.1:0"), "must not be 0"),
            (&format!("{DOCKER}@bad host:2377"), "not a host name"),
            ("SWMTKN-2-abc-def@10.0.0.1", "must start with"),
            ("SWMTKN-1-short-1awxwuwd3z9j1z3puu7rcgdbx@10.0.0.1", "CA digest"),
            (
                "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-SHORT@10.0.0.1",
                "secret",
            ),
        ];
        for (text, reason) in cases {
            let error = JoinToken::parse(text).unwrap_err();
            assert_eq!(error.code, ExitCode::Token, "{text}");
            assert!(error.message.starts_with("malformed join token"), "{text}");
            assert!(error.message.contains(reason), "{text}: {}", error.message);
            assert!(error.hint.is_some());
        }
    }
}
