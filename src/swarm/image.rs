//! The node image: built on each Docker host from the files in `images/node`,
//! which are compiled into the binary so `swarmpi` alone is enough on a server.

use anyhow::{Context, Result};
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::client::{Engine, daemon_message, is_not_found};
use crate::cluster::archive::{self, Entry};
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;

const CONTEXT_FILES: [(&str, &[u8], u32); 3] = [
    (
        "Dockerfile",
        include_bytes!("../../images/node/Dockerfile"),
        0o644,
    ),
    (
        "sshd_config",
        include_bytes!("../../images/node/sshd_config"),
        0o644,
    ),
    (
        "entrypoint.sh",
        include_bytes!("../../images/node/entrypoint.sh"),
        0o755,
    ),
];

/// Lines of build output kept to explain a failed build.
const FAILURE_TAIL: usize = 25;

/// The tag of the image these sources build: the crate version plus a digest
/// of the build context, so a changed Dockerfile never reuses a stale image.
/// The `localhost/` registry part matters: a server without the image then
/// fails its pull at once (connection refused) instead of waiting on a
/// public registry, so deploy can name that server quickly.
pub fn default_image_ref() -> String {
    let mut digest = Sha256::new();
    for (name, bytes, mode) in CONTEXT_FILES {
        digest.update(name.as_bytes());
        digest.update(mode.to_le_bytes());
        digest.update(bytes);
    }
    let hex: String = digest
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("localhost/swarmpi-node:{}-{hex}", env!("CARGO_PKG_VERSION"))
}

pub async fn image_exists(engine: &Engine, image: &str) -> Result<bool> {
    match engine.docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not inspect image {image}")),
    }
}

/// Makes sure the node image is on this Docker host: an explicit `--image`
/// must exist already; the default one is built when missing.
pub async fn ensure_node_image(engine: &Engine, explicit: Option<&str>, printer: &Printer) -> Result<String> {
    if let Some(image) = explicit {
        if !image_exists(engine, image).await? {
            return Err(UserError::new(
                ExitCode::Usage,
                format!("image {image} does not exist on the Docker host at {}", engine.endpoint),
            )
            .hint("load or build it on this host first (no registry is used), or leave out --image to build the default node image")
            .into());
        }
        printer.info(format!("using image {image}"));
        return Ok(image.to_string());
    }
    let image = default_image_ref();
    if image_exists(engine, &image).await? {
        printer.info(format!("node image {image} is already here"));
        return Ok(image);
    }
    build_node_image(engine, &image, printer).await?;
    Ok(image)
}

async fn build_node_image(engine: &Engine, image: &str, printer: &Printer) -> Result<()> {
    let started = std::time::Instant::now();
    let spinner = printer.spinner(format!("building node image {image}"));
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image)
        .rm(true)
        .forcerm(true)
        .build();
    let context = build_context().context("could not pack the node image's build context")?;
    let mut stream = engine
        .docker
        .build_image(options, None, Some(bollard::body_full(context.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => {
                spinner.finish_and_clear();
                return Err(build_failed(image, &daemon_message(&e), &tail));
            }
        };
        if let Some(detail) = info.error_detail {
            spinner.finish_and_clear();
            return Err(build_failed(image, &detail.message.unwrap_or_default(), &tail));
        }
        for line in info.stream.iter().flat_map(|s| s.lines()) {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if line.starts_with("Step ") {
                spinner.set_message(format!("building node image: {}", shorten(line, 70)));
            }
            printer.debug(line);
            tail.push(line.to_string());
            if tail.len() > FAILURE_TAIL {
                tail.remove(0);
            }
        }
    }
    spinner.finish_and_clear();
    printer.info(format!(
        "built node image {image} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn build_failed(image: &str, message: &str, tail: &[String]) -> anyhow::Error {
    let mut text = format!("could not build the node image {image}: {message}");
    if !tail.is_empty() {
        text.push_str("\n  last build output:\n    ");
        text.push_str(&tail.join("\n    "));
    }
    UserError::new(ExitCode::Internal, text)
        .hint("the build installs packages from Debian's mirror: check this host's network, then run the command again")
        .into()
}

fn build_context() -> std::io::Result<Vec<u8>> {
    let entries: Vec<Entry<'_>> = CONTEXT_FILES
        .iter()
        .map(|(name, bytes, mode)| Entry::file(name, bytes, *mode))
        .collect();
    archive::pack(&entries)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ref_is_stable_and_versioned() {
        let image = default_image_ref();
        assert_eq!(image, default_image_ref());
        assert!(image.starts_with(&format!("localhost/swarmpi-node:{}-", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn build_context_holds_no_private_key() {
        for (name, bytes, _) in CONTEXT_FILES {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains("PRIVATE KEY-----"), "{name} embeds a private key");
        }
    }
}
