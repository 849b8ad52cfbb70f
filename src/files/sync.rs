//! `swarmpi sync`: a project directory to the same path in every container,
//! incrementally. Each container says what it holds; each server is sent,
//! once, the files its containers lack; files the manager no longer has
//! are deleted where the last sync put them (files made in the containers,
//! such as build outputs, are never touched).

use std::collections::BTreeSet;

use anyhow::{Result, anyhow};
use futures_util::future::join_all;
use serde::Serialize;

use super::project::Project;
use super::{deliver, helper};
use crate::access::OpenCluster;
use crate::cluster::layout;
use crate::cluster::remote::Remote;
use crate::cluster::sync::{self, Need, Report};
use crate::fanout::Group;
use crate::printer::Printer;
use crate::ssh::Node;

/// What a sync did, for the user and `--json`.
#[derive(Debug, Serialize)]
pub struct Synced {
    pub project: String,
    /// The project's directory in every container.
    pub path: String,
    pub files: usize,
    /// Files sent (the union over the containers that lacked them).
    pub sent_files: usize,
    /// Files deleted (the union over the containers).
    pub deleted_files: usize,
    /// Bytes that left the manager.
    pub sent_bytes: u64,
    pub updated_containers: usize,
    pub containers: usize,
}

pub async fn sync(cluster: &OpenCluster, project: &Project, printer: &Printer) -> Result<Synced> {
    let root = project.remote_dir();
    let state = layout::sync_state(&project.name);
    let paths: Vec<&String> = project.manifest().files.keys().collect();
    let asked = serde_json::to_vec(&paths)?;
    let query = helper(&["query", &root, &state]);
    let reports = join_all(cluster.members.iter().map(|m| report_of(&m.node, &query, &asked))).await;
    let needs = reports
        .into_iter()
        .map(|report| Ok(sync::need(project.manifest(), &report?)))
        .collect::<Result<Vec<Need>>>()?;
    let servers = cluster.members.iter().map(|m| m.server.as_str());
    let mut archives = vec![];
    let mut sent = BTreeSet::new();
    let deleted: BTreeSet<&String> = needs.iter().flat_map(|need| &need.delete).collect();
    for (members, send) in sync::by_server(servers, &needs).into_values() {
        archives.push((members, project.tree.archive(&send, true)?));
        sent.extend(send);
    }
    let groups: Vec<Group> = archives
        .iter()
        .map(|(members, archive)| Group {
            members: members.clone(),
            payload: archive,
        })
        .collect();
    let apply = helper(&["apply", &root, &state]);
    let delivered = deliver(cluster, &groups, &apply, printer, "syncing").await?;
    Ok(Synced {
        project: project.name.clone(),
        path: root,
        files: project.manifest().files.len(),
        sent_files: sent.len(),
        deleted_files: deleted.iter().filter(|path| !path.ends_with('/')).count(),
        sent_bytes: delivered.bytes,
        updated_containers: delivered.containers,
        containers: cluster.members.len(),
    })
}

async fn report_of(node: &Node, query: &Remote, asked: &[u8]) -> Result<Report> {
    let output = node.ask("listing its copy of the project", query, asked).await?;
    if output.code != 0 {
        return Err(anyhow!(
            "container {} could not list its copy of the project: {}",
            node.name,
            output.stderr_text()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow!("container {} answered the file helper oddly: {e}", node.name))
}

/// One line for the user.
pub fn summary(synced: &Synced) -> String {
    if synced.updated_containers == 0 {
        return format!(
            "{} is up to date in {} container(s) ({} files at {})",
            synced.project, synced.containers, synced.files, synced.path
        );
    }
    format!(
        "synced {} to {}: {} file(s) sent, {} deleted, {} container(s) updated of {}; {} bytes left the manager",
        synced.project,
        synced.path,
        synced.sent_files,
        synced.deleted_files,
        synced.updated_containers,
        synced.containers,
        synced.sent_bytes
    )
}
