//! What of a tree fetched from a container may be written on the manager,
//! decided without I/O. A container is not trusted: an entry's path must
//! stay inside the tree, and a symbolic link is kept only when it is
//! relative and, followed step by step from where it stands, stays inside
//! the tree without passing through another link (docker cp keeps such
//! links too). Everything else is refused or skipped by name.

use std::collections::HashSet;

/// A path inside the fetched tree, as its components.
pub type Rel = Vec<String>;

/// An archive entry's name as a path inside the tree, or why it is refused:
/// absolute, empty, or climbing out with `..`.
pub fn entry_path(name: &str) -> Result<Rel, String> {
    if name.starts_with('/') {
        return Err(format!("an absolute path ({name})"));
    }
    let mut parts: Rel = vec![];
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("a path climbing out of the tree ({name})")),
            other => parts.push(other.to_string()),
        }
    }
    if parts.is_empty() {
        return Err("an entry with no name".to_string());
    }
    Ok(parts)
}

/// Whether a link at `at` pointing to `target` may be kept: relative, and
/// walked component by component from `at`'s directory it never leaves
/// the tree (whose top is `at[0]`) and never passes through a link of
/// `links` (whose own targets it cannot see).
pub fn link_stays_inside(at: &[String], target: &str, links: &HashSet<Rel>) -> bool {
    if target.is_empty() || target.starts_with('/') || at.len() < 2 {
        return false;
    }
    let mut walked: Rel = at[..at.len() - 1].to_vec();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                walked.pop();
                if walked.is_empty() {
                    return false;
                }
            }
            other => {
                walked.push(other.to_string());
                if links.contains(&walked) {
                    return false;
                }
            }
        }
    }
    true
}

/// The mode a fetched file gets on the manager: permission bits only (no
/// set-id or sticky bits), masked by the user's umask, and always readable
/// and writable by the user (a directory also searchable), so what was
/// fetched can be read and removed.
pub fn local_mode(mode: u32, umask: u32, is_dir: bool) -> u32 {
    let owner = if is_dir { 0o700 } else { 0o600 };
    (mode & 0o777 & !umask) | owner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(path: &str) -> Rel {
        entry_path(path).unwrap()
    }

    #[test]
    fn entry_paths_stay_inside() {
        assert_eq!(rel("results/a.dat"), ["results", "a.dat"]);
        assert_eq!(rel("./results//a"), ["results", "a"]);
        assert!(entry_path("/etc/passwd").is_err());
        assert!(entry_path("results/../../x").is_err());
        assert!(entry_path("..").is_err());
        assert!(entry_path("./").is_err());
    }

    #[test]
    fn relative_links_inside_the_tree_are_kept() {
        let none = HashSet::new();
        assert!(link_stays_inside(&rel("r/latest"), "run3/out.dat", &none));
        assert!(link_stays_inside(&rel("r/a/up"), "../b", &none));
        assert!(link_stays_inside(&rel("r/self"), ".", &none));
    }

    #[test]
    fn links_that_leave_the_tree_are_refused() {
        let none = HashSet::new();
        assert!(!link_stays_inside(&rel("r/cfg"), "/some/dir/outside", &none));
        assert!(!link_stays_inside(&rel("r/cfg"), "..", &none));
        assert!(!link_stays_inside(&rel("r/a/cfg"), "../../home", &none));
        assert!(!link_stays_inside(&rel("r/empty"), "", &none));
        // The tree's top itself as a link: nothing inside it to point at.
        assert!(!link_stays_inside(&rel("r"), "elsewhere", &none));
    }

    #[test]
    fn a_chain_through_another_link_is_refused() {
        // y -> . stays inside, but x -> y/../z would then climb out of r.
        let links: HashSet<Rel> = [rel("r/y")].into();
        assert!(!link_stays_inside(&rel("r/x"), "y/../../z", &links));
        assert!(!link_stays_inside(&rel("r/x"), "y/z", &links));
        assert!(link_stays_inside(&rel("r/x"), "z", &links));
    }

    #[test]
    fn modes_lose_special_bits_and_follow_the_umask() {
        assert_eq!(local_mode(0o4777, 0o022, false), 0o755);
        assert_eq!(local_mode(0o777, 0o077, false), 0o700);
        assert_eq!(local_mode(0o000, 0o022, false), 0o600);
        assert_eq!(local_mode(0o1777, 0o022, true), 0o755);
        assert_eq!(local_mode(0o555, 0o022, true), 0o755);
    }
}
