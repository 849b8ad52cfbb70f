//! Where things live in every container: the MPI user, its home, and the
//! files swarmpi puts there. Every path and user name in the cluster comes
//! from here.

/// A path under the MPI user's home (the only place that spells it out).
macro_rules! in_home {
    ($path:literal) => {
        concat!("/home/mpi/", $path)
    };
}

/// The user MPI runs as in the node image (sshd allows no other).
pub const MPI_USER: &str = "mpi";
/// Its home: where relative paths in `swarmpi cp` start.
pub const HOME: &str = in_home!("");
/// Where `swarmpi sync` puts each project, by the name of its directory.
pub const PROJECTS_DIR: &str = in_home!("projects");
/// What each sync put in a container, by project (see `files/helper.py`).
pub const SYNC_DIR: &str = in_home!(".swarmpi/sync");
/// Where a container keeps what arrives for it and its siblings until
/// each has installed it (see `fanout.rs`).
pub const STAGING_DIR: &str = in_home!(".swarmpi/staging");
/// Programs `run` copies into every container, at the same path.
pub const BIN_DIR: &str = in_home!(".swarmpi/bin");
/// Sources compiled on the head.
pub const SRC_DIR: &str = in_home!(".swarmpi/src");
/// The deployed hostfile, mpirun's default.
pub const HOSTFILE: &str = in_home!(".swarmpi/hostfile");
/// Where the head keeps each job's record and output (see `job/jobs.py`).
pub const JOBS_DIR: &str = in_home!(".swarmpi/jobs");
/// Where runs keep the pids of their mpirun, for Ctrl-C.
pub const RUN_DIR: &str = in_home!(".swarmpi/runs");

/// The cluster files, as the archive every container gets holds them
/// (relative to the home; the same files as the absolute paths above).
pub mod in_archive {
    pub const AUTHORIZED_KEYS: &str = ".ssh/authorized_keys";
    pub const KNOWN_HOSTS: &str = ".ssh/known_hosts";
    pub const SSH_CONFIG: &str = ".ssh/config";
    pub const MCA_PARAMS: &str = ".openmpi/mca-params.conf";
    pub const HOSTFILE: &str = ".swarmpi/hostfile";
    /// On the servers' network: `FIRST LAST`, the ports the keeper gives
    /// jobs' daemons (keeper.py reads it).
    pub const JOB_PORTS: &str = ".swarmpi/job-ports";

    /// The cluster key's files: `.ssh/id_rsa` and `.ssh/id_rsa.pub`.
    pub fn identity(file_name: &str) -> (String, String) {
        (format!(".ssh/{file_name}"), format!(".ssh/{file_name}.pub"))
    }

    /// The archive's directories, made before it is unpacked.
    pub const DIRS: [&str; 3] = [".ssh", ".openmpi", ".swarmpi"];
}

/// Where the swarm puts the secret holding the manager's key
/// (`/run/secrets/NAME`), which sshd reads as an authorized-keys file.
pub const MANAGER_KEY_SECRET_FILE: &str = "swarmpi_authorized_keys";
/// The gateway's only authorized-keys file: the manager's key, restricted
/// to forwarding to the cluster's containers (in the image's /etc, not in
/// the MPI user's home).
pub const GATEWAY_AUTHORIZED_KEYS: &str = "/etc/swarmpi/authorized_keys";

/// The pid file of one run: each run has its own, so stopping one never
/// stops another.
pub fn pid_file(run_id: &str) -> String {
    format!("{RUN_DIR}/{run_id}.pid")
}

/// A synced project's directory in every container.
pub fn project_dir(name: &str) -> String {
    format!("{PROJECTS_DIR}/{name}")
}

/// The list of what the last sync of project `name` put in a container.
pub fn sync_state(name: &str) -> String {
    format!("{SYNC_DIR}/{name}.json")
}

/// `path` in a container: relative paths start at the MPI user's home.
pub fn in_container(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{HOME}{path}")
    }
}

/// `mpi@HOST`, for the ssh client's command line.
pub fn login(host: &str) -> String {
    format!("{MPI_USER}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_in_the_mpi_users_home() {
        let home = format!("/home/{MPI_USER}/");
        for path in [
            BIN_DIR,
            SRC_DIR,
            HOSTFILE,
            RUN_DIR,
            &pid_file("x"),
            &project_dir("p"),
            &sync_state("p"),
            &in_container("out/r.dat"),
        ] {
            assert!(path.starts_with(&home), "{path}");
        }
        assert_eq!(login("127.0.0.1"), "mpi@127.0.0.1");
        assert_eq!(HOSTFILE, format!("{HOME}{}", in_archive::HOSTFILE));
        assert_eq!(in_container("/tmp/x"), "/tmp/x");
        assert_eq!(in_container("results/"), "/home/mpi/results/");
    }
}
