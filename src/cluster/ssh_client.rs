//! The system OpenSSH client's command line for `swarmpi shell`: nothing
//! from the user's own ssh configuration or agent applies (no other
//! identity, no forwarding, no multiplexing), host keys are the pinned
//! ones, and every path survives each layer that reads it: ssh's `%`
//! tokens, its quoted option values, and the shell that runs ProxyCommand.

use std::path::Path;

use super::layout::login;
use super::remote::quote;
use crate::error::UserError;

/// The files and addresses a shell session uses.
pub struct ShellSession<'a> {
    pub known_hosts: &'a Path,
    /// The manager's key: logs in to the gateway and to the container.
    pub key: &'a Path,
    pub gateway_port: u16,
    pub container_ip: &'a str,
    /// Its sshd's port: 22 on the overlay, the cluster's on the servers'
    /// network.
    pub container_port: u16,
}

/// Options that make the client ignore the user's ssh setup.
const ISOLATED: [&str; 13] = [
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "ForwardAgent=no",
    "ForwardX11=no",
    "ClearAllForwardings=yes",
    "PermitLocalCommand=no",
    "ControlMaster=no",
    "ControlPath=none",
    "UpdateHostKeys=no",
    "StrictHostKeyChecking=yes",
    "GlobalKnownHostsFile=/dev/null",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
];

/// A path as an ssh option value: in double quotes (it may hold spaces),
/// with `%` doubled (ssh expands `%` tokens in file options).
fn option_path(option: &str, path: &Path) -> Result<String, UserError> {
    let text = path.to_str().filter(|t| !t.contains('"')).ok_or_else(|| {
        UserError::usage(format!(
            "the path {} cannot be given to the ssh client",
            path.display()
        ))
        .hint("use a state directory (--state-dir) whose path has no '\"' and is UTF-8")
    })?;
    Ok(format!("{option}=\"{}\"", text.replace('%', "%%")))
}

/// The words shared by both hops: no user config, the pinned host keys,
/// the one identity.
fn common(session: &ShellSession) -> Result<Vec<String>, UserError> {
    let mut words = vec!["-F".to_string(), "/dev/null".to_string()];
    for option in ISOLATED {
        words.extend(["-o".to_string(), option.to_string()]);
    }
    words.extend([
        "-o".into(),
        option_path("UserKnownHostsFile", session.known_hosts)?,
    ]);
    words.extend(["-o".into(), option_path("IdentityFile", session.key)?]);
    Ok(words)
}

/// The arguments of `ssh` for an interactive shell in the container,
/// through the gateway on the manager's loopback. Run it with
/// `SHELL=/bin/sh`, the shell ssh runs ProxyCommand with.
pub fn shell_args(session: &ShellSession) -> Result<Vec<String>, UserError> {
    let common = common(session)?;
    let mut proxy: Vec<String> = vec!["ssh".into()];
    proxy.extend(common.iter().cloned());
    proxy.extend(["-p".into(), session.gateway_port.to_string()]);
    proxy.push(login("127.0.0.1"));
    let line: Vec<String> = proxy.iter().map(|w| quote(w)).collect();
    // ssh expands `%` tokens in ProxyCommand too: ours are escaped, then
    // the two that name the container are added.
    // (ssh itself runs it as `exec COMMAND`.)
    let proxy_command = format!("{} -W %h:%p", line.join(" ").replace('%', "%%"));
    let mut args = common;
    args.extend(["-o".into(), format!("ProxyCommand={proxy_command}")]);
    args.extend(["-p".into(), session.container_port.to_string()]);
    args.push("-t".into());
    args.push(login(session.container_ip));
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session<'a>(known_hosts: &'a Path, key: &'a Path) -> ShellSession<'a> {
        ShellSession {
            known_hosts,
            key,
            gateway_port: 2222,
            container_ip: "10.0.9.3",
            container_port: 22,
        }
    }

    #[test]
    fn a_container_on_the_servers_network_is_reached_at_its_clusters_port() {
        let mut on_host = session(Path::new("/s/kh"), Path::new("/s/k"));
        on_host.container_port = 20000;
        let args = shell_args(&on_host).unwrap();
        assert_eq!(args[args.len() - 4..], ["-p", "20000", "-t", "mpi@10.0.9.3"]);
    }

    #[test]
    fn the_users_config_and_agent_never_apply() {
        let args = shell_args(&session(Path::new("/s/kh"), Path::new("/s/k"))).unwrap();
        assert_eq!(&args[..2], ["-F", "/dev/null"]);
        for option in [
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "ForwardAgent=no",
            "ClearAllForwardings=yes",
        ] {
            assert!(args.iter().any(|a| a == option), "{option} missing: {args:?}");
        }
        assert_eq!(args.last().unwrap(), "mpi@10.0.9.3");
    }

    #[test]
    fn odd_paths_survive_the_proxy_shell_and_ssh_tokens() {
        let (known_hosts, key) = (Path::new("/my state/$HOME/it's/kh"), Path::new("/a%b/`k`"));
        let args = shell_args(&session(known_hosts, key)).unwrap();
        assert!(
            args.contains(&"IdentityFile=\"/a%%b/`k`\"".to_string()),
            "{args:?}"
        );
        let proxy = args.iter().find_map(|a| a.strip_prefix("ProxyCommand=")).unwrap();
        // What ssh hands the shell once it has expanded its tokens.
        let expanded = proxy
            .replace("%h", "10.0.9.3")
            .replace("%p", "22")
            .replace("%%", "%");
        let script = format!("set -- {expanded}; printf '%s\\0' \"$@\"");
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        let words: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split_terminator('\0')
            .map(String::from)
            .collect();
        assert!(
            words.contains(&"UserKnownHostsFile=\"/my state/$HOME/it's/kh\"".to_string()),
            "{words:?}"
        );
        assert!(
            words.contains(&"IdentityFile=\"/a%%b/`k`\"".to_string()),
            "{words:?}"
        );
        assert_eq!(words[words.len() - 3..], ["mpi@127.0.0.1", "-W", "10.0.9.3:22"]);
    }

    #[test]
    fn a_double_quote_in_a_path_is_refused() {
        let error = shell_args(&session(Path::new("/a\"b/kh"), Path::new("/k"))).unwrap_err();
        assert!(error.message.contains("cannot be given to the ssh client"));
    }
}
