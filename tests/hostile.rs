//! Hostile containers: each attack done for real from inside a container
//! (as its MPI user, or as root for what only an escaped program could
//! do), and what the manager must do about it. The cluster `hostile` (one
//! container per server) lives in a state directory whose path holds a
//! space, a `$`, a quote and a `%`, so every path swarmpi hands a shell or
//! ssh is exercised too.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Lab, Run, example, in_container_as};

const CLUSTER: &str = "hostile";
const HEAD: &str = "hostile-1";

struct Hostile {
    lab: Lab,
    state_dir: PathBuf,
}

impl Hostile {
    fn new() -> Hostile {
        let lab = Lab::get();
        lab.ensure_swarm();
        let state_dir = scratch("state $HOME 'q' %d");
        fs::remove_dir(&state_dir).unwrap();
        let hostile = Hostile { lab, state_dir };
        hostile
            .swarmpi(&["deploy", "--name", CLUSTER, "--per-host", "1"])
            .success();
        hostile
    }

    fn swarmpi(&self, args: &[&str]) -> Run {
        self.swarmpi_env(&[], args)
    }

    fn swarmpi_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut env = env.to_vec();
        env.push(("SWARMPI_STATE_DIR", self.state_dir.to_str().unwrap()));
        self.lab.swarmpi_env("a", &env, args)
    }

    /// `script` as the MPI user in the head.
    fn in_head(&self, script: &str) -> Run {
        in_container_as(&self.lab, CLUSTER, HEAD, "mpi", script).success()
    }

    fn as_root_in_head(&self, script: &str) -> Run {
        in_container_as(&self.lab, CLUSTER, HEAD, "root", script).success()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.swarmpi(&["down", "--name", CLUSTER]);
        let _ = fs::remove_dir_all(&self.state_dir);
    }
}

/// A fresh directory of this test's own (`name` may hold odd characters).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmpi-hostile {name} {}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Nothing but `expected` in `dir` (no staging directory left behind).
fn assert_only(dir: &Path, expected: &[&str]) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected, "in {}", dir.display());
}

/// The largest resident set (MiB) of any child this test process waited
/// for, grandchildren included (`scripts/lab exec` waits for swarmpi).
fn peak_child_rss_mib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
    usage.ru_maxrss / 1024
}

fn no_raw_escape(run: &Run) {
    assert!(
        !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
        "a raw escape reached the terminal: {run:?}"
    );
}

#[test]
fn cp_from_a_hostile_container_writes_nothing_outside_the_destination() {
    let h = Hostile::new();
    let outside = scratch("outside");
    let dest = scratch("dest");
    let source = format!("{HEAD}:results");
    // Links of every kind, a hard link, a fifo and a set-uid 0777 file.
    h.in_head(&format!(
        "mkdir -p results/sub && echo data > results/sub/file && chmod 4777 results/sub/file \
         && ln -s '{}' results/cfg && ln -s ../../.. results/up && ln -s sub/file results/ok \
         && ln results/sub/file results/hard && mkfifo results/fifo && ln -s /etc results-link",
        path(&outside)
    ));
    let first = h
        .swarmpi(&["cp", &source, &format!("{}/", path(&dest))])
        .success();
    assert!(
        first.stderr.contains("left out 2 symbolic link(s)") && first.stderr.contains("results/cfg ->"),
        "{first}"
    );
    assert!(
        first.stderr.contains("left out 1 entry(ies)") && first.stderr.contains("fifo"),
        "{first}"
    );
    let results = dest.join("results");
    assert_eq!(fs::read_link(results.join("ok")).unwrap(), Path::new("sub/file"));
    assert_eq!(fs::read_to_string(results.join("hard")).unwrap(), "data\n");
    assert!(!results.join("cfg").exists() && !results.join("up").exists());
    let mode = fs::metadata(results.join("sub/file"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(
        mode & 0o7022,
        0,
        "no set-id bit, nothing writable by others: {mode:o}"
    );
    assert_only(&dest, &["results"]);

    // The link replaced by a real directory in the container, and a link
    // where it lands on the manager (as a naive fetch would have left it).
    h.in_head("rm results/cfg && mkdir results/cfg && echo pwned > results/cfg/evil");
    std::os::unix::fs::symlink(&outside, results.join("cfg")).unwrap();
    h.swarmpi(&["cp", &source, path(&dest)]).success();
    assert_only(&outside, &[]);
    assert!(!fs::symlink_metadata(results.join("cfg")).unwrap().is_symlink());
    assert_eq!(fs::read_to_string(results.join("cfg/evil")).unwrap(), "pwned\n");

    // A top-level link is not followed.
    let link = h
        .swarmpi(&["cp", &format!("{HEAD}:results-link"), path(&dest)])
        .failure(2, "is a symbolic link, not a file or directory");
    assert!(link.stderr.contains("fetch the path it points to"), "{link}");

    // Root replaces tar with one that sends paths out of the tree.
    h.as_root_in_head(
        "python3 -c \"import io, tarfile\nt = tarfile.open('/tmp/evil.tar', 'w')\n\
         for name in ['results/../../escaped', '/tmp/swarmpi-hostile-abs']:\n    \
         info = tarfile.TarInfo(name); info.size = 5; t.addfile(info, io.BytesIO(b'pwned'))\n\
         t.close()\" && printf '#!/bin/sh\\ncat /tmp/evil.tar\\n' > /usr/local/bin/tar \
         && chmod 755 /usr/local/bin/tar",
    );
    let dest2 = scratch("dest2");
    let refused = h
        .swarmpi(&["cp", &source, path(&dest2)])
        .failure(1, "sent a path climbing out of the tree");
    assert!(refused.stderr.contains("nothing was written"), "{refused}");
    assert_only(&dest2, &[]);
    assert!(!dest2.parent().unwrap().join("escaped").exists());
    assert!(!Path::new("/tmp/swarmpi-hostile-abs").exists());
    for dir in [&outside, &dest, &dest2] {
        fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_flooding_or_silent_container_neither_fills_nor_hangs_the_manager() {
    let h = Hostile::new();
    // A user's stream is passed through whatever its size, in bounded memory.
    let bin = env!("CARGO_BIN_EXE_swarmpi");
    let state = swarmpi::cluster::remote::quote(path(&h.state_dir));
    let streamed = h.lab.sh(
        "a",
        &format!(
            "SWARMPI_STATE_DIR={state} {bin} exec --name {CLUSTER} -- head -c 300000000 /dev/zero | wc -c"
        ),
    );
    assert_eq!(streamed.success().stdout.trim(), "300000000");
    // sshd would run ~/.ssh/rc (now refused) and bash reads ~/.bashrc before
    // any command: both print a gigabyte first.
    let flood = "head -c 1000000000 /dev/zero";
    h.in_head(&format!(
        "echo '{flood}' > ~/.ssh/rc && {{ echo '{flood}'; cat ~/.bashrc; }} > /tmp/b && mv /tmp/b ~/.bashrc"
    ));
    let flooded = h
        .swarmpi(&["jobs", "--name", CLUSTER])
        .failure(7, "answered more than 16 MiB while");
    assert!(flooded.stderr.contains(HEAD), "{flooded}");
    let peak = peak_child_rss_mib();
    assert!(peak < 150, "swarmpi (or any child) grew to {peak} MiB");

    // Silent: the command never answers.
    h.in_head("sed -i '1s/.*/sleep 600/' ~/.bashrc");
    let started = Instant::now();
    let silent = h
        .swarmpi_env(&[("SWARMPI_ANSWER_TIMEOUT", "3")], &["jobs", "--name", CLUSTER])
        .failure(1, "sent nothing for 3 s while");
    assert!(started.elapsed() < Duration::from_secs(30), "{silent}");
}

#[test]
fn container_text_in_swarmpis_own_messages_cannot_drive_the_terminal() {
    let h = Hostile::new();
    // A job record rewritten in the head: OSC 52 (clipboard) and a clear.
    let evil = r"\u001b]52;c;cHduZWQ=\u0007\u001b[2Jevil";
    h.in_head(&format!(
        "mkdir -p ~/.swarmpi/jobs/77 && printf '%s' '{{\"id\": 77, \"tag\": \"t\", \"program\": \"{evil}\", \
         \"ranks\": 1, \"state\": \"exited\", \"exit\": 0, \"started\": 1, \"ended\": 2, \"pid\": 0, \
         \"output_bytes\": 0, \"dropped_bytes\": 0}}' > ~/.swarmpi/jobs/77/meta.json"
    ));
    let table = h.swarmpi(&["jobs", "--name", CLUSTER]).success();
    no_raw_escape(&table);
    assert!(
        table.stdout.contains(r"\x1b]52;c;cHduZWQ=\x07\x1b[2Jevil"),
        "{table}"
    );
    let json = h.swarmpi(&["jobs", "--name", CLUSTER, "--json"]).success();
    no_raw_escape(&json);
    let jobs: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(jobs.to_string().contains("evil"), "{json}");
    // Remote stderr inside an error message.
    h.in_head(
        r#"{ printf 'printf "\\033]52;c;cHduZWQ=\\007" >&2; exit 1\n'; cat ~/.bashrc; } > /tmp/b && mv /tmp/b ~/.bashrc"#,
    );
    let failed = h
        .swarmpi(&["jobs", "--name", CLUSTER])
        .failure(1, "could not list the jobs");
    no_raw_escape(&failed);
    assert!(failed.stderr.contains(r"\x1b]52;c;cHduZWQ="), "{failed}");
}

#[test]
fn rotate_key_refuses_the_old_key_without_recreating_containers() {
    let h = Hostile::new();
    let filter = format!("label=com.docker.swarm.service.name=swarmpi-{CLUSTER}");
    let ids = || {
        let mut ids: Vec<String> = ["a", "b"]
            .iter()
            .flat_map(|s| {
                h.lab
                    .docker(s, &["ps", "-q", "--filter", &filter])
                    .stdout
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        ids
    };
    let key_of = |status: &Run| -> String {
        let status: Value = serde_json::from_str(&status.stdout).unwrap();
        status["key"]["fingerprint"].as_str().unwrap().to_string()
    };
    let before = (
        ids(),
        key_of(&h.swarmpi(&["status", "--name", CLUSTER, "--json"]).success()),
    );
    // What a thief takes from a container, and uses with nothing else.
    h.in_head("cp ~/.ssh/id_rsa /tmp/stolen && chmod 600 /tmp/stolen");
    let status: Value =
        serde_json::from_str(&h.swarmpi(&["status", "--name", CLUSTER, "--json"]).stdout).unwrap();
    let ip = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hostile-2")
        .map(|c| c["ip"].as_str().unwrap().to_string())
        .unwrap();
    let ssh = "ssh -o BatchMode=yes -o ConnectTimeout=5";
    let stolen = format!(
        "{ssh} -F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile=~/.ssh/known_hosts -i /tmp/stolen mpi@{ip} hostname"
    );
    assert_eq!(
        h.in_head(&stolen).stdout.trim(),
        "hostile-2",
        "the key works before"
    );

    let rotated = h
        .swarmpi(&["deploy", "--name", CLUSTER, "--per-host", "1", "--rotate-key"])
        .success();
    assert!(
        rotated.stderr.contains("rotating the key of cluster hostile"),
        "{rotated}"
    );
    let after = (
        ids(),
        key_of(&h.swarmpi(&["status", "--name", CLUSTER, "--json"]).success()),
    );
    assert_eq!(before.0, after.0, "no container was recreated");
    assert_ne!(before.1, after.1, "status shows the new key");

    let refused = in_container_as(&h.lab, CLUSTER, HEAD, "mpi", &stolen);
    assert_eq!(refused.code, 255, "the old key still logs in: {refused}");
    assert!(refused.stderr.contains("Permission denied"), "{refused}");
    let fresh = h.in_head(&format!("{ssh} hostile-2 hostname"));
    assert_eq!(fresh.stdout.trim(), "hostile-2");
    let run = h
        .swarmpi(&["run", "--name", CLUSTER, "-n", "2", &example("hello_mpi.cpp")])
        .success();
    assert_eq!(run.stdout.matches("Size: 2").count(), 2, "{run}");
}

/// The user's own ~/.ssh/config (ssh reads it from the passwd entry's
/// home, not $HOME), set aside and put back whatever happens.
struct UserSshConfig {
    path: PathBuf,
    saved: Option<Vec<u8>>,
}

impl UserSshConfig {
    fn replace_with(text: &str) -> UserSshConfig {
        let home = unsafe { std::ffi::CStr::from_ptr((*libc::getpwuid(libc::getuid())).pw_dir) };
        let dir = Path::new(home.to_str().unwrap()).join(".ssh");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        let saved = fs::read(&path).ok();
        fs::write(&path, text).unwrap();
        UserSshConfig { path, saved }
    }
}

impl Drop for UserSshConfig {
    fn drop(&mut self) {
        match &self.saved {
            Some(bytes) => fs::write(&self.path, bytes).unwrap(),
            None => fs::remove_file(&self.path).unwrap(),
        }
    }
}

#[test]
fn shell_ignores_the_users_ssh_config_and_agent() {
    let h = Hostile::new();
    // Everything a user's config could do to the connection.
    let _config = UserSshConfig::replace_with(
        "Host *\n  ProxyCommand /bin/false\n  User root\n  IdentityFile /nonexistent\n  \
         ForwardAgent yes\n  RemoteCommand echo hijacked\n  LocalCommand touch /tmp/swarmpi-hostile-local\n  \
         PermitLocalCommand yes\n",
    );
    let bin = env!("CARGO_BIN_EXE_swarmpi");
    let state = swarmpi::cluster::remote::quote(path(&h.state_dir));
    // A real agent holding a key of its own: it must not be forwarded.
    let script = format!(
        "eval $(ssh-agent -s) >/dev/null && ssh-keygen -q -t ed25519 -N '' -f /tmp/swarmpi-hostile-agent-key <<<y >/dev/null; \
         ssh-add -q /tmp/swarmpi-hostile-agent-key; \
         printf 'hostname; whoami; echo agent=$SSH_AUTH_SOCK; exit\\n' | SWARMPI_STATE_DIR={state} {bin} shell --name {CLUSTER}; \
         code=$?; ssh-agent -k >/dev/null; rm -f /tmp/swarmpi-hostile-agent-key*; exit $code"
    );
    let shell = h
        .lab
        .sh(
            "a",
            &format!("bash -c {}", swarmpi::cluster::remote::quote(&script)),
        )
        .success();
    assert!(
        shell.stdout.contains(HEAD) && shell.stdout.contains("mpi"),
        "{shell}"
    );
    assert!(shell.stdout.contains("agent=\n"), "no agent forwarded: {shell}");
    assert!(!shell.stdout.contains("hijacked"), "{shell}");
    assert!(!Path::new("/tmp/swarmpi-hostile-local").exists());
}
