//! The node image's build context (the files in `images/node`, compiled into
//! the binary so `swarmpi` alone is enough on a server) and the tag it gets.

use super::remote::quote;
use serde::{Deserialize, Serialize};

use super::archive::{self, Entry};
use super::digest;
use crate::error::UserError;

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
    let owned: Vec<(&str, &[u8], u32)> = context.iter().map(|f| (f.name, f.bytes, f.mode)).collect();
    tag_of(&owned)
}

/// A context file as (name, bytes, mode).
type ContextEntry = (&'static str, &'static [u8], u32);

fn tag_of(context: &[(&str, &[u8], u32)]) -> String {
    let mut bytes = Vec::new();
    for (name, content, mode) in context {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&mode.to_le_bytes());
        bytes.extend_from_slice(content);
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

/// What a user adds on top of the node image: Debian packages and
/// Dockerfile lines. Part of the build context, so of the tag: every server
/// given the same extension builds the same tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub packages: Vec<String>,
    /// Dockerfile instructions, and the file they came from (for the
    /// command other servers run).
    pub fragment: Option<(String, String)>,
}

impl Extension {
    /// Checks package names as Debian spells them (no shell can hide in one).
    pub fn new(packages: &[String], fragment: Option<(String, String)>) -> Result<Extension, UserError> {
        let mut names: Vec<String> = packages
            .iter()
            .flat_map(|p| p.split([' ', ',']))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = names.iter().find(|p| !is_package_name(p)) {
            return Err(
                UserError::usage(format!("'{bad}' is not a Debian package name")).hint(
                    "give names as apt-get takes them, e.g. --packages \"libfftw3-dev libhdf5-openmpi-dev\"",
                ),
            );
        }
        names.sort();
        names.dedup();
        Ok(Extension {
            packages: names,
            fragment,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.fragment.is_none()
    }

    /// The node Dockerfile with the extension's lines after it.
    fn dockerfile(&self) -> Vec<u8> {
        let mut text = String::from_utf8_lossy(NODE_CONTEXT[0].bytes).into_owned();
        if !self.packages.is_empty() {
            text.push_str(&format!(
                "\n# swarmpi extension: packages\nRUN apt-get update \\\n && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {} \\\n && rm -rf /var/lib/apt/lists/*\n",
                self.packages.join(" ")
            ));
        }
        if let Some((_, fragment)) = &self.fragment {
            text.push_str(&format!(
                "\n# swarmpi extension: Dockerfile fragment\n{fragment}\n"
            ));
        }
        text.into_bytes()
    }

    /// The extended Dockerfile, and the other files as they are.
    fn context(&self) -> (Vec<u8>, Vec<ContextEntry>) {
        let rest = NODE_CONTEXT[1..]
            .iter()
            .map(|f| (f.name, f.bytes, f.mode))
            .collect();
        (self.dockerfile(), rest)
    }

    /// The tag of the extended image (the default tag when empty).
    pub fn image_ref(&self) -> String {
        if self.is_empty() {
            return default_image_ref();
        }
        let (dockerfile, rest) = self.context();
        let mut all = vec![("Dockerfile", dockerfile.as_slice(), NODE_CONTEXT[0].mode)];
        all.extend(rest);
        tag_of(&all)
    }

    /// The extended build context as Docker's build API takes it.
    pub fn pack(&self) -> std::io::Result<Vec<u8>> {
        let (dockerfile, rest) = self.context();
        let mut entries = vec![Entry::file("Dockerfile", &dockerfile, NODE_CONTEXT[0].mode)];
        entries.extend(
            rest.iter()
                .map(|(name, bytes, mode)| Entry::file(name, bytes, *mode)),
        );
        archive::pack(&entries)
    }

    /// The options that give this extension, for a command line.
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if !self.packages.is_empty() {
            flags.push_str(&format!(" --packages {}", quote(&self.packages.join(" "))));
        }
        if let Some((file, _)) = &self.fragment {
            flags.push_str(&format!(" --dockerfile {}", quote(file)));
        }
        flags
    }
}

fn is_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_reads_the_keys_where_swarmpi_puts_them() {
        use super::super::layout::{GATEWAY_AUTHORIZED_KEYS, MANAGER_KEY_SECRET_FILE};
        let entrypoint = String::from_utf8_lossy(NODE_CONTEXT[2].bytes);
        assert!(entrypoint.contains(&format!(
            "AuthorizedKeysFile /run/secrets/{MANAGER_KEY_SECRET_FILE} "
        )));
        assert!(entrypoint.contains(&format!("AuthorizedKeysFile {GATEWAY_AUTHORIZED_KEYS}\\n")));
        let sshd = String::from_utf8_lossy(NODE_CONTEXT[1].bytes);
        assert!(sshd.contains("PermitUserRC no"));
        assert!(
            !sshd.lines().any(|l| l.starts_with("AuthorizedKeysFile")),
            "the role sets it"
        );
    }

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
    fn an_extension_is_part_of_the_tag() {
        assert_eq!(Extension::default().image_ref(), default_image_ref());
        let hello = Extension::new(&["hello".into()], None).unwrap();
        let same = Extension::new(&["hello, hello".into()], None).unwrap();
        assert_eq!(hello.image_ref(), same.image_ref(), "same packages, same tag");
        assert_ne!(hello.image_ref(), default_image_ref());
        let fragment = Extension::new(
            &["hello".into()],
            Some(("extra.Dockerfile".into(), "RUN true".into())),
        )
        .unwrap();
        assert_ne!(fragment.image_ref(), hello.image_ref());
        assert_eq!(
            fragment.flags(),
            " --packages hello --dockerfile extra.Dockerfile"
        );
        let spaced = Extension::new(
            &["hello cowsay".into()],
            Some(("my dir/$x.Dockerfile".into(), "RUN true".into())),
        )
        .unwrap();
        assert_eq!(
            spaced.flags(),
            " --packages 'cowsay hello' --dockerfile 'my dir/$x.Dockerfile'"
        );
        let packed = String::from_utf8_lossy(&fragment.pack().unwrap()).into_owned();
        assert!(packed.contains("apt-get install -y --no-install-recommends hello"));
        assert!(packed.contains("RUN true"));
        let bad = Extension::new(&["hello; rm -rf /".into()], None).unwrap_err();
        assert!(
            bad.message.contains("';' is not a Debian package name")
                || bad.message.contains("not a Debian package name"),
            "{bad:?}"
        );
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
        // The packed context holds every file, whole.
        let packed = pack(&NODE_CONTEXT).unwrap();
        let mut archive = tar::Archive::new(&packed[..]);
        let sizes: Vec<(String, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.size())
            })
            .collect();
        for file in NODE_CONTEXT {
            assert!(
                sizes.contains(&(file.name.to_string(), file.bytes.len() as u64)),
                "{} missing from {sizes:?}",
                file.name
            );
        }
    }
}
