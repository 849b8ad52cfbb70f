//! The two sides of `swarmpi cp`, as docker cp spells them: a local path,
//! or `TARGET:PATH` where TARGET is a cluster (every container) or one of
//! its containers (`mpi-3`). No I/O: which clusters exist is asked.

use std::path::PathBuf;

use super::layout;
use super::names::ClusterNames;
use crate::error::UserError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Local(PathBuf),
    Remote { target: String, path: String },
}

impl Endpoint {
    /// `X:PATH` is remote when X is not empty and holds no '/' (write
    /// `./a:b` for a local file with a colon in its name).
    pub fn parse(arg: &str) -> Endpoint {
        match arg.split_once(':') {
            Some((target, path)) if !target.is_empty() && !target.contains('/') => Endpoint::Remote {
                target: target.to_string(),
                path: path.to_string(),
            },
            _ => Endpoint::Local(PathBuf::from(arg)),
        }
    }
}

/// Where a remote endpoint points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every container of the cluster.
    Cluster(ClusterNames),
    /// One container, by its slot (`mpi-3` is slot 3 of cluster `mpi`).
    Container(ClusterNames, u32),
}

impl Target {
    /// `word` names a cluster that `exists`, or a container `CLUSTER-SLOT`
    /// of one.
    pub fn resolve(word: &str, exists: impl Fn(&str) -> bool) -> Result<Target, UserError> {
        if let Ok(names) = ClusterNames::new(word)
            && exists(word)
        {
            return Ok(Target::Cluster(names));
        }
        if let Some((cluster, slot)) = word.rsplit_once('-')
            && let Ok(slot) = slot.parse::<u32>()
            && let Ok(names) = ClusterNames::new(cluster)
            && exists(cluster)
        {
            return Ok(Target::Container(names, slot));
        }
        Err(UserError::usage(format!("no cluster or container named '{word}'"))
            .hint("name a deployed cluster (e.g. mpi:data/) or one of its containers (e.g. mpi-2:out.dat); `swarmpi status` lists them"))
    }

    pub fn names(&self) -> &ClusterNames {
        match self {
            Target::Cluster(names) | Target::Container(names, _) => names,
        }
    }
}

/// The absolute path in a container, keeping a trailing '/' (it means
/// "into this directory"). Nothing after the colon is the MPI user's home,
/// as `scp file host:` means it.
pub fn remote_path(path: &str) -> Result<String, UserError> {
    if path.is_empty() {
        return Ok(layout::HOME.to_string());
    }
    if path.contains(['\n', '\r']) {
        return Err(
            UserError::usage(format!("'{path}' is not a usable path in a container"))
                .hint("give a path after the colon, e.g. mpi-1:results/out.dat"),
        );
    }
    Ok(layout::in_container(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_after_the_colon_is_the_home() {
        assert_eq!(remote_path("").unwrap(), layout::HOME);
        assert!(
            layout::HOME.ends_with('/'),
            "into the home, under the source's name"
        );
        assert_eq!(remote_path("data/").unwrap(), format!("{}data/", layout::HOME));
        assert!(remote_path("a\nb").is_err());
    }

    #[test]
    fn tells_local_from_remote_as_docker_cp_does() {
        assert_eq!(
            Endpoint::parse("mpi-3:results/out.dat"),
            Endpoint::Remote {
                target: "mpi-3".into(),
                path: "results/out.dat".into()
            }
        );
        assert_eq!(Endpoint::parse("./a:b"), Endpoint::Local("./a:b".into()));
        assert_eq!(Endpoint::parse("out.dat"), Endpoint::Local("out.dat".into()));
        assert_eq!(Endpoint::parse(":x"), Endpoint::Local(":x".into()));
    }

    #[test]
    fn resolves_clusters_before_containers() {
        let exists = |name: &str| name == "mpi" || name == "lab-2";
        let mpi = ClusterNames::new("mpi").unwrap();
        assert_eq!(
            Target::resolve("mpi", exists).unwrap(),
            Target::Cluster(mpi.clone())
        );
        assert_eq!(
            Target::resolve("mpi-3", exists).unwrap(),
            Target::Container(mpi, 3)
        );
        // A cluster whose name ends in a number is the cluster itself.
        assert!(matches!(
            Target::resolve("lab-2", exists).unwrap(),
            Target::Cluster(_)
        ));
        let error = Target::resolve("nope-1", exists).unwrap_err();
        assert!(error.message.contains("'nope-1'"), "{error:?}");
    }

    #[test]
    fn relative_paths_start_at_the_mpi_users_home() {
        assert_eq!(remote_path("data/").unwrap(), "/home/mpi/data/");
        assert_eq!(remote_path("/tmp/x").unwrap(), "/tmp/x");
    }
}
