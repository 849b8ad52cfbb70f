//! The host keys containers print at start (the `swarmpi-hostkey` line of
//! the node image's entrypoint), trusted only as Docker attributes them: a
//! line belongs to the task whose log Docker read it from, the first line of
//! each task wins, and a line claiming another task is ignored and named
//! (root inside a container can print anything).

use std::collections::HashMap;

/// One container's report: its task and host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyReport {
    pub task: String,
    pub key: String,
}

/// `swarmpi-hostkey task=ID addrs=IP/P,... ssh-ed25519 AAAA...` (any prefix
/// before it is skipped; the addresses are the container's own claim and
/// are not used).
pub fn parse_line(line: &str) -> Option<HostKeyReport> {
    let start = line.find("swarmpi-hostkey ")?;
    let mut words = line[start..].split_whitespace().skip(1);
    let task = words.next()?.strip_prefix("task=")?.to_string();
    words.next()?.strip_prefix("addrs=")?;
    let (kind, blob) = (words.next()?, words.next()?);
    if !kind.starts_with("ssh-") || blob.len() < 16 {
        return None;
    }
    Some(HostKeyReport {
        task,
        key: format!("{kind} {blob}"),
    })
}

/// Reports by task from `(task, line)` pairs, each line read from that
/// task's own log (so Docker attributes it): only lines whose claimed task
/// is that task count, and the first of each task wins. Returns the
/// reports and the ignored claims.
pub fn collect<'a>(
    lines: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (HashMap<String, HostKeyReport>, Vec<String>) {
    let mut reports: HashMap<String, HostKeyReport> = HashMap::new();
    let mut ignored = Vec::new();
    for (task, line) in lines {
        let Some(report) = parse_line(line) else { continue };
        if report.task != task {
            ignored.push(format!(
                "task {task} printed a host key claiming to be task {}",
                report.task
            ));
        } else if reports.get(task).is_some_and(|first| first.key != report.key) {
            ignored.push(format!("task {task} printed a second, different host key"));
        } else {
            reports.entry(task.to_string()).or_insert(report);
        }
    }
    (reports, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB";
    const FORGED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAFORGED";

    /// A line read from `task`'s own log.
    fn attributed(task: &'static str, claim: &str, key: &str) -> (&'static str, String) {
        (
            task,
            format!("swarmpi-hostkey task={claim} addrs=10.0.1.3/24 {key}"),
        )
    }

    #[test]
    fn parses_the_entrypoint_line() {
        let line = format!("swarmpi-hostkey task=abc123 addrs=10.0.1.3/24,172.18.0.3/16 {KEY}");
        let report = parse_line(&line).unwrap();
        assert_eq!((report.task.as_str(), report.key.as_str()), ("abc123", KEY));
        assert!(parse_line("Server listening on 0.0.0.0 port 22.").is_none());
        assert!(parse_line("swarmpi-hostkey task=x addrs= notakey").is_none());
    }

    #[test]
    fn only_lines_docker_attributes_to_their_task_count_and_the_first_wins() {
        let lines = [
            attributed("t1", "t1", KEY),
            attributed("t2", "t2", KEY),
            // Root in t2 claims to be t1 with its own key: ignored, named.
            attributed("t2", "t1", FORGED),
            // t2 prints a second key for itself: the first stays.
            attributed("t2", "t2", FORGED),
        ];
        let (reports, ignored) = collect(lines.iter().map(|(t, l)| (*t, l.as_str())));
        assert_eq!(reports.len(), 2);
        assert_eq!(reports["t1"].key, KEY);
        assert_eq!(reports["t2"].key, KEY);
        assert_eq!(
            ignored,
            [
                "task t2 printed a host key claiming to be task t1",
                "task t2 printed a second, different host key"
            ]
        );
    }
}
