//! Names of everything a cluster owns, derived from the cluster's name, so
//! `deploy`, `status` and `down` always agree on them.

use crate::error::UserError;

/// The label every object of a cluster carries, with the cluster's name.
pub const CLUSTER_LABEL: &str = "org.swarmpi.cluster";
/// The label recording which key and image a gateway container was made
/// with (it is re-created when either changes).
/// On a service on the servers' own network: the first port of its block.
pub const PORTS_LABEL: &str = "org.swarmpi.ports";
pub const GATEWAY_MADE_WITH_LABEL: &str = "org.swarmpi.gateway.made-with";
pub const DEFAULT_CLUSTER: &str = "mpi";
/// `swarmpi doctor`'s probe network and service: '_' keeps it apart from
/// every cluster's names.
pub const DOCTOR: &str = "swarmpi_doctor";
/// `doctor`'s listeners on the servers' own network (a name no cluster can have).
pub const DOCTOR_LISTEN: &str = "swarmpi_doctor_listen";
pub const MAX_NAME: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNames {
    pub cluster: String,
}

impl ClusterNames {
    /// Checks a user-given cluster name: lowercase letters, digits and '-',
    /// starting with a letter, so it is valid in hostnames and Docker names.
    pub fn new(cluster: &str) -> Result<Self, UserError> {
        let valid = !cluster.is_empty()
            && cluster.len() <= MAX_NAME
            && cluster.starts_with(|c: char| c.is_ascii_lowercase())
            && !cluster.ends_with('-')
            && cluster
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(UserError::usage(format!("invalid cluster name '{cluster}'")).hint(format!(
                "use 1 to {MAX_NAME} lowercase letters, digits or '-', starting with a letter (e.g. --name {DEFAULT_CLUSTER})"
            )));
        }
        Ok(ClusterNames {
            cluster: cluster.to_string(),
        })
    }

    pub fn service(&self) -> String {
        format!("swarmpi-{}", self.cluster)
    }

    pub fn network(&self) -> String {
        format!("swarmpi-{}", self.cluster)
    }

    pub fn gateway(&self) -> String {
        format!("swarmpi-{}-gateway", self.cluster)
    }

    /// Secrets cannot change, so the key's fingerprint is part of the name.
    pub fn authorized_keys_secret(&self, key_digest: &str) -> String {
        format!("swarmpi-{}-authkeys-{key_digest}", self.cluster)
    }

    /// The hostname template Docker expands for each task.
    pub fn hostname_template(&self) -> String {
        format!("{}-{{{{.Task.Slot}}}}", self.cluster)
    }

    pub fn hostname(&self, slot: u32) -> String {
        format!("{}-{slot}", self.cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_every_name_from_the_cluster() {
        let names = ClusterNames::new("lab-2").unwrap();
        assert_eq!(names.service(), "swarmpi-lab-2");
        assert_eq!(names.gateway(), "swarmpi-lab-2-gateway");
        assert_eq!(names.hostname_template(), "lab-2-{{.Task.Slot}}");
        assert_eq!(names.hostname(3), "lab-2-3");
        assert_eq!(
            names.authorized_keys_secret("ab12"),
            "swarmpi-lab-2-authkeys-ab12"
        );
    }

    #[test]
    fn rejects_names_that_are_not_hostname_safe() {
        for bad in [
            "",
            "Mpi",
            "1mpi",
            "mpi_1",
            "mpi-",
            "a.b",
            "abcdefghijklmnopqrstuvwxyz",
        ] {
            let error = ClusterNames::new(bad).unwrap_err();
            assert!(error.message.contains("invalid cluster name"), "{bad}");
        }
    }
}
