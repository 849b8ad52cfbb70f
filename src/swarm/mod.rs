//! Everything that talks to the Docker API (through bollard), one file per
//! kind of Docker object. No bollard type leaves this module: it answers in
//! the types of `cluster` or its own.

pub mod client;
pub mod doctor;
pub mod gateway;
pub mod image;
pub mod membership;
pub mod network;
pub mod observe;
pub mod removal;
pub mod secret;
pub mod service;

use std::collections::HashMap;

pub use client::Engine;

use crate::cluster::names::{CLUSTER_LABEL, ClusterNames};

/// The labels every object of a cluster carries.
fn labels(names: &ClusterNames) -> HashMap<String, String> {
    HashMap::from([(CLUSTER_LABEL.to_string(), names.cluster.clone())])
}

/// A list filter for the objects carrying the cluster's label.
fn label_filter(names: &ClusterNames) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{CLUSTER_LABEL}={}", names.cluster)],
    )])
}
