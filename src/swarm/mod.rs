//! Everything that talks to the Docker API (through bollard), one file per
//! kind of Docker object. No bollard type leaves this module: it answers in
//! the types of `cluster` or its own.

pub mod client;
pub mod gateway;
pub mod image;
pub mod membership;
pub mod network;
pub mod observe;
pub mod probes;
pub mod removal;
pub mod secret;
pub mod service;

use std::collections::HashMap;

use anyhow::{Context as _, Result};
use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};

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

/// The most of one container's log swarmpi reads: what it looks for (a
/// host-key report, a probe's lines) comes first, and a container that
/// floods its log must not fill the manager's memory.
const LOG_LIMIT: usize = 1 << 20;

/// A container's or task's log as text, read up to [`LOG_LIMIT`] bytes
/// (the rest is not read); `what` names it in errors.
async fn read_log(
    stream: impl Stream<Item = Result<LogOutput, bollard::errors::Error>>,
    what: &str,
) -> Result<String> {
    let mut stream = std::pin::pin!(stream);
    let mut bytes = Vec::new();
    while let Some(item) = stream.next().await {
        let output = item.with_context(|| format!("could not read the log of {what}"))?;
        bytes.extend_from_slice(&output.into_bytes());
        if bytes.len() >= LOG_LIMIT {
            bytes.truncate(LOG_LIMIT);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
