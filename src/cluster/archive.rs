//! In-memory tar archives of a few small files: the image build context, the
//! files a container gets. Building bytes in memory is not I/O.

/// One entry; a path ending in '/' is a directory (its bytes are ignored).
pub struct Entry<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
    pub mode: u32,
}

impl<'a> Entry<'a> {
    pub fn file(path: &'a str, bytes: &'a [u8], mode: u32) -> Self {
        Entry { path, bytes, mode }
    }

    pub fn dir(path: &'a str, mode: u32) -> Self {
        Entry {
            path,
            bytes: &[],
            mode,
        }
    }
}

pub fn pack(entries: &[Entry<'_>]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let is_dir = entry.path.ends_with('/');
        let bytes = if is_dir { &[][..] } else { entry.bytes };
        if is_dir {
            header.set_entry_type(tar::EntryType::Directory);
        }
        header.set_size(bytes.len() as u64);
        header.set_mode(entry.mode);
        header.set_cksum();
        archive.append_data(&mut header, entry.path, bytes)?;
    }
    archive.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_files_and_directories_with_their_modes() {
        let bytes = pack(&[Entry::dir("etc/", 0o755), Entry::file("etc/key", b"abc", 0o600)]).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let entries: Vec<(String, u32, u64, bool)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                    h.entry_type().is_dir(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("etc/".into(), 0o755, 0, true),
                ("etc/key".into(), 0o600, 3, false)
            ]
        );
    }
}
