//! The SSE-S3 master key file: written by `ringstore key generate` (mode 0600, never over an
//! existing file), read at start by `--sse-master-key-file`. One line of base64 (32 random
//! bytes); lines starting with `#` are comments.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::secret::{MasterKey, MASTER_KEY_BYTES};

/// A key file larger than this is not one (the key line is 44 bytes).
const KEY_FILE_BYTES_MAX: u64 = 4096;

/// Why a key file could not be written or read; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or creating the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds no key line, or one that is not 32 bytes of base64.
    #[error("{path}: not a ringstore master key file (expected one line of base64 holding 32 bytes; `ringstore key generate FILE` writes one)")]
    Malformed {
        /// The file.
        path: String,
    },
    /// Others may read the file.
    #[error("{path}: readable by group or others (mode {mode:o}); chmod 600 it")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The file lies inside the data dir, so a copy of the data would carry its key.
    #[error("{path}: the master key must live outside the data dir ({data_dir}), or a copy of the data carries its key")]
    InsideDataDir {
        /// The file.
        path: String,
        /// The data dir.
        data_dir: String,
    },
}

/// Writes a new random master key to `path` (mode 0600; refuses to replace a file: a lost key
/// loses every SSE-S3 object).
pub fn generate(path: &Path) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = [0u8; MASTER_KEY_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| io(std::io::Error::other("no randomness")))?;
    let text = format!(
        "# ringstore SSE-S3 master key: keep it outside the data dir, back it up apart from the\n\
         # data, and never share it. Without it, objects stored with SSE-S3 cannot be read.\n{}\n",
        BASE64.encode(bytes)
    );
    bytes.fill(0);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

/// Reads the master key at `path`, which must be private to its owner and outside `data_dir`.
pub fn load(path: &Path, data_dir: &Path) -> Result<MasterKey, KeyFileError> {
    let name = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: name.clone(),
        source,
    };
    let absolute = std::path::absolute(path).map_err(io)?;
    let resolved = absolute.canonicalize().map_err(io)?;
    let data_dir = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    if resolved.starts_with(&data_dir) {
        return Err(KeyFileError::InsideDataDir {
            path: name,
            data_dir: data_dir.display().to_string(),
        });
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(KeyFileError::Malformed { path: name });
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed { path: name, mode });
    }
    let mut text = String::new();
    file.take(KEY_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .map_err(|_| KeyFileError::Malformed { path: name.clone() })?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(KeyFileError::Malformed { path: name });
    };
    let mut decoded = BASE64
        .decode(line)
        .map_err(|_| KeyFileError::Malformed { path: name.clone() })?;
    let Ok(bytes) = <[u8; MASTER_KEY_BYTES]>::try_from(decoded.as_slice()) else {
        return Err(KeyFileError::Malformed { path: name });
    };
    decoded.fill(0);
    Ok(MasterKey::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_load_and_bad_files_are_refused() {
        // Goal: a generated file is 0600, loads, is never overwritten; a readable-by-others
        // file, a file in the data dir and malformed contents are each refused by name.
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        std::fs::create_dir(&data_dir).unwrap();
        let path = dir.path().join("master.key");
        generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let first = load(&path, &data_dir).unwrap();
        assert!(matches!(generate(&path), Err(KeyFileError::Io { .. })));
        assert_eq!(load(&path, &data_dir).unwrap().expose(), first.expose());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load(&path, &data_dir),
            Err(KeyFileError::Exposed { .. })
        ));
        let inside = data_dir.join("master.key");
        generate(&inside).unwrap();
        assert!(matches!(
            load(&inside, &data_dir),
            Err(KeyFileError::InsideDataDir { .. })
        ));
        for text in ["", "# only a comment\n", "c2hvcnQ=\n", "a\nb\n"] {
            let bad = dir.path().join("bad.key");
            let _ = std::fs::remove_file(&bad);
            std::fs::write(&bad, text).unwrap();
            std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
            let error = load(&bad, &data_dir).unwrap_err();
            assert!(matches!(error, KeyFileError::Malformed { .. }), "{text:?}");
            assert!(error.to_string().contains("bad.key"));
        }
    }
}
