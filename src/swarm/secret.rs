//! The swarm secret that carries the cluster's public key to its containers.

use std::collections::HashMap;

use anyhow::{Context, Result};
use base64::Engine as _;
use bollard::models::{Secret, SecretSpec};
use bollard::query_parameters::ListSecretsOptionsBuilder;

use super::client::Engine;
use crate::cluster::names::ClusterNames;

/// A secret of the cluster: its id (for the service) and name.
#[derive(Debug, Clone)]
pub struct KeySecret {
    pub id: String,
    pub name: String,
}

async fn list(engine: &Engine, filters: &HashMap<String, Vec<String>>) -> Result<Vec<Secret>> {
    engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default().filters(filters).build(),
        ))
        .await
        .context("could not list secrets")
}

fn name_of(secret: &Secret) -> Option<&str> {
    secret.spec.as_ref().and_then(|spec| spec.name.as_deref())
}

/// The secret holding `public_key`, created unless it exists. Secrets cannot
/// change, so the key's fingerprint is part of the name.
pub async fn ensure_key_secret(
    engine: &Engine,
    names: &ClusterNames,
    public_key: &str,
    fingerprint: &str,
) -> Result<KeySecret> {
    let name = names.authorized_keys_secret(fingerprint);
    let filters = HashMap::from([("name".to_string(), vec![name.clone()])]);
    if let Some(secret) = list(engine, &filters)
        .await?
        .into_iter()
        .find(|s| name_of(s) == Some(name.as_str()))
    {
        return Ok(KeySecret {
            id: secret.id.unwrap_or_default(),
            name,
        });
    }
    let spec = SecretSpec {
        name: Some(name.clone()),
        labels: Some(super::labels(names)),
        data: Some(base64::engine::general_purpose::STANDARD.encode(format!("{public_key}\n"))),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_secret(spec)
        .await
        .with_context(|| format!("could not create secret {name}"))?;
    Ok(KeySecret { id: created.id, name })
}

/// Removes the cluster's secrets other than `keep`. One still used by
/// tasks being replaced stays (Docker refuses); the next deploy or `down`
/// removes it.
pub async fn remove_stale(engine: &Engine, names: &ClusterNames, keep: &str) -> Result<()> {
    for secret in list(engine, &super::label_filter(names)).await? {
        if name_of(&secret) != Some(keep) {
            let _ = engine.docker.delete_secret(&secret.id.unwrap_or_default()).await;
        }
    }
    Ok(())
}

/// Removes every secret of the cluster; returns their names.
pub(super) async fn remove_all(engine: &Engine, names: &ClusterNames) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for secret in list(engine, &super::label_filter(names)).await? {
        let id = secret.id.clone().unwrap_or_default();
        let name = name_of(&secret).map_or_else(|| id.clone(), str::to_string);
        engine
            .docker
            .delete_secret(&id)
            .await
            .with_context(|| format!("could not remove secret {name}"))?;
        removed.push(name);
    }
    Ok(removed)
}
