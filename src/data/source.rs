//! Where the MNIST files are served, and in which form.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// URL of the folder holding the four files, ending in `/`.
    pub base_url: String,
    /// Fetch the `.gz` files (about 11 MB in all) rather than the raw ones (55 MB).
    pub compressed: bool,
}

impl DataSource {
    pub fn url(&self, file: &str) -> String {
        let ext = if self.compressed { ".gz" } else { "" };
        format!("{}{file}{ext}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_compressed_or_raw_file() {
        let gz = DataSource { base_url: "http://127.0.0.1:8080/data/".into(), compressed: true };
        assert_eq!(gz.url("t10k-labels-idx1-ubyte"), "http://127.0.0.1:8080/data/t10k-labels-idx1-ubyte.gz");
        let raw = DataSource { compressed: false, ..gz };
        assert_eq!(raw.url("t10k-labels-idx1-ubyte"), "http://127.0.0.1:8080/data/t10k-labels-idx1-ubyte");
    }
}
