//! The cluster's key pair: generated at deploy time, stored on the manager
//! only in the state directory with mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use russh::keys::ssh_key::{HashAlg, LineEnding};

/// The key types `deploy --key-type` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
}

/// RSA size: what the mission asks, and fast to generate (4096 takes ~20x longer).
pub const RSA_BITS: usize = 3072;

impl KeyType {
    /// The file name OpenSSH looks for by default.
    pub fn file_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "id_rsa",
            KeyType::Ed25519 => "id_ed25519",
        }
    }
}

pub fn generate(key_type: KeyType) -> Result<PrivateKey> {
    let mut rng = rand::rng();
    let data = match key_type {
        KeyType::Rsa => KeypairData::from(
            RsaKeypair::random(&mut rng, RSA_BITS).context("could not generate an RSA key")?,
        ),
        KeyType::Ed25519 => KeypairData::from(Ed25519Keypair::random(&mut rng)),
    };
    let mut key = PrivateKey::try_from(data).context("could not build the private key")?;
    key.set_comment("swarmpi cluster key");
    Ok(key)
}

/// The private key in OpenSSH's file format.
pub fn private_openssh(key: &PrivateKey) -> Result<String> {
    Ok(key
        .to_openssh(LineEnding::LF)
        .context("could not encode the private key")?
        .to_string())
}

/// The `authorized_keys` line.
pub fn public_openssh(key: &PrivateKey) -> Result<String> {
    key.public_key()
        .to_openssh()
        .context("could not encode the public key")
}

/// A short digest of the public key, for names.
pub fn short_fingerprint(key: &PrivateKey) -> String {
    let fingerprint = key.public_key().fingerprint(HashAlg::Sha256);
    fingerprint
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes the private key with mode 0600 from the start (never readable by others,
/// not even for a moment).
pub fn save_private(key: &PrivateKey, path: &Path) -> Result<()> {
    let text = private_openssh(key)?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("could not create {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

pub fn load_private(path: &Path) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the cluster key {}", path.display()))?;
    PrivateKey::from_openssh(text)
        .with_context(|| format!("{} is not an OpenSSH private key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_ed25519_key_with_mode_0600_and_reads_it_back() {
        let dir = std::env::temp_dir().join(format!("swarmpi-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = generate(KeyType::Ed25519).unwrap();
        let path = dir.join("id_ed25519");
        save_private(&key, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_private(&path).unwrap().public_key(), key.public_key());
        assert!(public_openssh(&key).unwrap().starts_with("ssh-ed25519 "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generates_rsa_keys_of_the_chosen_size() {
        let key = generate(KeyType::Rsa).unwrap();
        assert!(public_openssh(&key).unwrap().starts_with("ssh-rsa "));
        assert!(
            private_openssh(&key)
                .unwrap()
                .contains("BEGIN OPENSSH PRIVATE KEY")
        );
    }
}
