//! Loading MNIST from a folder on disk, for the native `train` binary and tests. The browser
//! loads the same files over HTTP ([`super::fetch`]); both go through the same checks.

use std::path::Path;

use super::dataset::{Mnist, FILES};
use super::error::DataError;

/// Read the four files from `dir`, preferring the raw files and falling back to `.gz`.
pub fn load_dir(dir: &Path) -> Result<Mnist, DataError> {
    let read = |name: &str| {
        let raw = dir.join(name);
        let path = if raw.exists() { raw } else { dir.join(format!("{name}.gz")) };
        std::fs::read(&path).map_err(|e| DataError::Network {
            file: path.display().to_string(),
            received: 0,
            reason: e.to_string(),
        })
    };
    let [a, b, c, d] = FILES;
    Mnist::from_files([read(a)?, read(b)?, read(c)?, read(d)?])
}

/// Where `scripts/setup.sh` puts MNIST, relative to the repository root.
pub const DEFAULT_DIR: &str = "www/data";
