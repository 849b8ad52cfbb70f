//! Making sure this Docker host has the node image: an explicit `--image`
//! must exist already; the default one (with the user's extension, if any)
//! is built from the context compiled into the binary when missing, with a
//! progress display, and recorded as the one `deploy` uses.

use anyhow::{Context as _, Result};

use crate::cluster::image::Extension;
use crate::context::Context;
use crate::error::UserError;
use crate::state::{NodeImage, StateDir};
use crate::swarm::{Engine, image as docker_image};

/// Which node image a server gets.
#[derive(Debug, Clone)]
pub enum ImageChoice {
    /// An image already on the host (`--image`).
    Explicit(String),
    /// The node image, with extra packages or Dockerfile lines.
    Build(Extension),
}

impl ImageChoice {
    /// The options another server passes to get the same image.
    pub fn flags(&self) -> String {
        match self {
            ImageChoice::Explicit(image) => format!(" --image {image}"),
            ImageChoice::Build(extension) => extension.flags(),
        }
    }
}

/// The node image's reference on this host, built if need be, and recorded
/// as this host's node image.
pub async fn ensure(ctx: &Context, engine: &Engine, choice: &ImageChoice) -> Result<String> {
    let printer = &ctx.printer;
    let (image, extension) = match choice {
        ImageChoice::Explicit(image) => {
            if !docker_image::image_exists(engine, image).await? {
                return Err(UserError::usage(format!(
                    "image {image} does not exist on the Docker host at {}",
                    engine.endpoint
                ))
                .hint("load or build it on this host first (no registry is used), or leave out --image to build the default node image")
                .into());
            }
            printer.info(format!("using image {image}"));
            (image.clone(), Extension::default())
        }
        ImageChoice::Build(extension) => {
            let image = extension.image_ref();
            if docker_image::image_exists(engine, &image).await? {
                printer.info(format!("node image {image} is already here"));
            } else {
                build(ctx, engine, &image, extension).await?;
            }
            (image, extension.clone())
        }
    };
    let record = NodeImage {
        image: image.clone(),
        extension,
    };
    StateDir::new(&ctx.settings.state_dir).save_node_image(&record)?;
    Ok(image)
}

async fn build(ctx: &Context, engine: &Engine, image: &str, extension: &Extension) -> Result<()> {
    let started = std::time::Instant::now();
    let printer = &ctx.printer;
    let spinner = printer.spinner(format!("building node image {image}"));
    let context = extension
        .pack()
        .context("could not pack the node image's build context")?;
    let built = docker_image::build(engine, image, context, |line| {
        if line.starts_with("Step ") {
            spinner.set_message(format!("building node image: {}", shorten(line, 70)));
        }
        printer.debug(line);
    });
    let built = ctx.cancel.guard("building the node image", built).await;
    spinner.finish_and_clear();
    built?;
    printer.info(format!(
        "built node image {image} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
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
    #[test]
    fn shortens_long_build_steps() {
        assert_eq!(super::shorten("Step 1/9 : FROM x", 70), "Step 1/9 : FROM x");
        assert_eq!(super::shorten("abcdef", 4), "abc…");
    }
}
