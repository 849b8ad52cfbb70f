//! Parsing what containers print about themselves at start: the
//! `swarmpi-hostkey` line of the node image's entrypoint.

use std::net::Ipv4Addr;

/// One container's report: its task, its IPv4 addresses and host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyReport {
    pub task: String,
    pub addrs: Vec<Ipv4Addr>,
    pub key: String,
}

/// `swarmpi-hostkey task=ID addrs=IP/P,IP/P ssh-ed25519 AAAA...` (any prefix
/// Docker's log stream put before it is skipped).
pub fn parse_line(line: &str) -> Option<HostKeyReport> {
    let start = line.find("swarmpi-hostkey ")?;
    let mut words = line[start..].split_whitespace().skip(1);
    let task = words.next()?.strip_prefix("task=")?.to_string();
    let addrs = words
        .next()?
        .strip_prefix("addrs=")?
        .split(',')
        .filter_map(|a| a.split('/').next()?.parse().ok())
        .collect();
    let (kind, blob) = (words.next()?, words.next()?);
    if !kind.starts_with("ssh-") || blob.len() < 16 {
        return None;
    }
    Some(HostKeyReport {
        task,
        addrs,
        key: format!("{kind} {blob}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_entrypoint_line() {
        let line = "swarmpi-hostkey task=abc123 addrs=10.0.1.3/24,172.18.0.3/16 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB";
        let report = parse_line(line).unwrap();
        assert_eq!(report.task, "abc123");
        assert_eq!(
            report.addrs,
            vec![
                "10.0.1.3".parse::<Ipv4Addr>().unwrap(),
                "172.18.0.3".parse().unwrap()
            ]
        );
        assert_eq!(report.key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB");
    }

    #[test]
    fn ignores_other_lines() {
        assert!(parse_line("Server listening on 0.0.0.0 port 22.").is_none());
        assert!(parse_line("swarmpi-hostkey task=x addrs= notakey").is_none());
    }
}
