//! The node image's build context (the files in `images/node`, compiled into
//! the binary so `swarmpi` alone is enough on a server) and the tag it gets.

use super::archive::{self, Entry};
use super::digest;

/// One file of a build context.
#[derive(Debug, Clone, Copy)]
pub struct ContextFile {
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub mode: u32,
}

/// The node image's build context.
pub const NODE_CONTEXT: [ContextFile; 3] = [
    ContextFile {
        name: "Dockerfile",
        bytes: include_bytes!("../../images/node/Dockerfile"),
        mode: 0o644,
    },
    ContextFile {
        name: "sshd_config",
        bytes: include_bytes!("../../images/node/sshd_config"),
        mode: 0o644,
    },
    ContextFile {
        name: "entrypoint.sh",
        bytes: include_bytes!("../../images/node/entrypoint.sh"),
        mode: 0o755,
    },
];

/// The tag a build context gets: the crate version plus a digest of the
/// context, so a changed Dockerfile never reuses a stale image. The
/// `localhost/` registry part matters: a server without the image then fails
/// its pull at once (connection refused) instead of waiting on a public
/// registry, so deploy can name that server quickly.
pub fn image_ref(context: &[ContextFile]) -> String {
    let mut bytes = Vec::new();
    for file in context {
        bytes.extend_from_slice(file.name.as_bytes());
        bytes.extend_from_slice(&file.mode.to_le_bytes());
        bytes.extend_from_slice(file.bytes);
    }
    let digest = digest::sha256_hex(&bytes);
    format!(
        "localhost/swarmpi-node:{}-{}",
        env!("CARGO_PKG_VERSION"),
        &digest[..12]
    )
}

/// The tag of the image this binary's node context builds.
pub fn default_image_ref() -> String {
    image_ref(&NODE_CONTEXT)
}

/// The context as the tar archive Docker's build API takes.
pub fn pack(context: &[ContextFile]) -> std::io::Result<Vec<u8>> {
    let entries: Vec<Entry<'_>> = context
        .iter()
        .map(|file| Entry::file(file.name, file.bytes, file.mode))
        .collect();
    archive::pack(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_context_changes_the_tag() {
        let base = image_ref(&NODE_CONTEXT);
        assert!(base.starts_with(&format!("localhost/swarmpi-node:{}-", env!("CARGO_PKG_VERSION"))));
        let mut edited = NODE_CONTEXT;
        edited[0].bytes = b"FROM debian:bookworm-slim\nRUN true\n";
        assert_ne!(image_ref(&edited), base, "a new Dockerfile must get a new tag");
        let mut chmod = NODE_CONTEXT;
        chmod[2].mode = 0o644;
        assert_ne!(image_ref(&chmod), base, "a changed mode must get a new tag");
    }

    #[test]
    fn build_context_holds_no_private_key() {
        for file in NODE_CONTEXT {
            let text = String::from_utf8_lossy(file.bytes);
            assert!(
                !text.contains("PRIVATE KEY-----"),
                "{} embeds a private key",
                file.name
            );
        }
        assert!(pack(&NODE_CONTEXT).unwrap().len() > 512);
    }
}
