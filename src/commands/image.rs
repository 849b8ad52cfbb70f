//! `swarmpi image [--packages ...] [--dockerfile FILE]`: this server's node
//! image, built if missing, without touching its swarm membership; and the
//! conversion of the image options `init` and `join` share.

use anyhow::{Context as _, Result};

use crate::cli::{ImageArgs, ImageCommandArgs};
use crate::cluster::image::Extension;
use crate::context::Context;
use crate::error::{Outcome, UserError};
use crate::node_image::{self, ImageChoice};
use crate::swarm::Engine;

/// Reads the Dockerfile fragment and checks the package names.
impl TryFrom<ImageArgs> for ImageChoice {
    type Error = anyhow::Error;

    fn try_from(args: ImageArgs) -> Result<ImageChoice> {
        if let Some(image) = args.image {
            return Ok(ImageChoice::Explicit(image));
        }
        let fragment = match args.dockerfile {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    UserError::usage(format!(
                        "cannot read the Dockerfile fragment {}: {e}",
                        path.display()
                    ))
                    .hint("give a file of Dockerfile instructions, e.g. RUN pip install ...")
                })?;
                Some((path.display().to_string(), text))
            }
        };
        Ok(ImageChoice::Build(Extension::new(&args.packages, fragment)?))
    }
}

impl TryFrom<ImageCommandArgs> for ImageChoice {
    type Error = anyhow::Error;

    fn try_from(args: ImageCommandArgs) -> Result<ImageChoice> {
        args.image.try_into()
    }
}

pub async fn run(ctx: &Context, choice: ImageChoice) -> Result<Outcome> {
    let engine = Engine::connect(&ctx.settings).await?;
    let image = node_image::ensure(ctx, &engine, &choice)
        .await
        .context("could not prepare the node image")?;
    ctx.printer.data(&image);
    Ok(Outcome::Success)
}
