//! Node images on one Docker host: whether one exists, and building one from
//! a build context, reporting each line of build output to the caller.

use anyhow::{Context, Result};
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use super::client::{Engine, daemon_message, is_not_found};
use crate::error::{ExitCode, UserError};

/// Lines of build output kept to explain a failed build.
const FAILURE_TAIL: usize = 25;

pub async fn image_exists(engine: &Engine, image: &str) -> Result<bool> {
    match engine.docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not inspect image {image}")),
    }
}

/// Builds `context` (a tar archive with a Dockerfile) as `tag`, handing
/// every non-empty line of build output to `on_line`. A failed build is a
/// user error quoting the last lines of output.
pub async fn build(
    engine: &Engine,
    tag: &str,
    context: Vec<u8>,
    mut on_line: impl FnMut(&str),
) -> Result<()> {
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .build();
    let builder = engine.for_builds();
    let mut stream = builder.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| build_failed(tag, &daemon_message(&e), &tail))?;
        if let Some(detail) = info.error_detail {
            return Err(build_failed(tag, &detail.message.unwrap_or_default(), &tail));
        }
        for line in info.stream.iter().flat_map(|s| s.lines()) {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            on_line(line);
            tail.push(line.to_string());
            if tail.len() > FAILURE_TAIL {
                tail.remove(0);
            }
        }
    }
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
