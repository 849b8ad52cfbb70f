//! The cluster's key pair: generated at deploy time, stored on the manager
//! only in the state directory with mode 0600. [`ClusterKey`] is the only
//! form in which a key leaves this module.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use russh::keys::ssh_key::{HashAlg, LineEnding};

use crate::cluster::digest;
use crate::cluster::members::KeyFiles;
pub use crate::cluster::members::KeyType;

/// RSA size: OpenSSH's default, and fast to generate (4096 takes ~20x longer).
pub const RSA_BITS: usize = 3072;

/// A cluster's private key (cheap to clone: shared, never copied).
#[derive(Clone)]
pub struct ClusterKey {
    key: Arc<PrivateKey>,
    key_type: KeyType,
}

impl ClusterKey {
    pub fn generate(key_type: KeyType) -> Result<ClusterKey> {
        let mut rng = rand::rng();
        let data = match key_type {
            KeyType::Rsa => KeypairData::from(
                RsaKeypair::random(&mut rng, RSA_BITS).context("could not generate an RSA key")?,
            ),
            KeyType::Ed25519 => KeypairData::from(Ed25519Keypair::random(&mut rng)),
        };
        let mut key = PrivateKey::try_from(data).context("could not build the private key")?;
        key.set_comment("swarmpi cluster key");
        Ok(ClusterKey {
            key: Arc::new(key),
            key_type,
        })
    }

    pub fn load(path: &Path, key_type: KeyType) -> Result<ClusterKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read the cluster key {}", path.display()))?;
        let key = PrivateKey::from_openssh(text)
            .with_context(|| format!("{} is not an OpenSSH private key", path.display()))?;
        Ok(ClusterKey {
            key: Arc::new(key),
            key_type,
        })
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The private key in OpenSSH's file format.
    pub fn private_openssh(&self) -> Result<String> {
        Ok(self
            .key
            .to_openssh(LineEnding::LF)
            .context("could not encode the private key")?
            .to_string())
    }

    /// The `authorized_keys` line.
    pub fn public_openssh(&self) -> Result<String> {
        self.key
            .public_key()
            .to_openssh()
            .context("could not encode the public key")
    }

    /// A short digest of the public key, for names.
    /// The public key's fingerprint as OpenSSH prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> String {
        self.key.public_key().fingerprint(HashAlg::Sha256).to_string()
    }

    pub fn short_fingerprint(&self) -> String {
        let fingerprint = self.key.public_key().fingerprint(HashAlg::Sha256);
        digest::hex(&fingerprint.as_bytes()[..5])
    }

    /// Runs `with` on the key pair as the files a container gets.
    pub fn with_files<T>(&self, with: impl FnOnce(&KeyFiles<'_>) -> T) -> Result<T> {
        let (private, public) = (self.private_openssh()?, self.public_openssh()?);
        Ok(with(&KeyFiles {
            file_name: self.key_type.file_name(),
            private: &private,
            public: &public,
        }))
    }

    pub(super) fn private(&self) -> Arc<PrivateKey> {
        self.key.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_key_reads_back_from_its_file_format() {
        let dir = std::env::temp_dir().join(format!("swarmpi-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = ClusterKey::generate(KeyType::Ed25519).unwrap();
        let path = dir.join("id_ed25519");
        std::fs::write(&path, key.private_openssh().unwrap()).unwrap();
        let loaded = ClusterKey::load(&path, KeyType::Ed25519).unwrap();
        assert_eq!(loaded.public_openssh().unwrap(), key.public_openssh().unwrap());
        assert!(key.public_openssh().unwrap().starts_with("ssh-ed25519 "));
        assert_eq!(key.short_fingerprint().len(), 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generates_rsa_keys_of_the_chosen_size() {
        let key = ClusterKey::generate(KeyType::Rsa).unwrap();
        assert!(key.public_openssh().unwrap().starts_with("ssh-rsa "));
        assert!(
            key.private_openssh()
                .unwrap()
                .contains("BEGIN OPENSSH PRIVATE KEY")
        );
        let public = key.private().public_key().clone();
        let bits = public
            .key_data()
            .rsa()
            .unwrap()
            .n()
            .as_positive_bytes()
            .unwrap()
            .len()
            * 8;
        assert_eq!(bits, RSA_BITS);
        let name = key.with_files(|files| files.file_name.to_string()).unwrap();
        assert_eq!(name, "id_rsa");
    }
}
