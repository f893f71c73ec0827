//! Where the MNIST files are served, and in which form.

use serde::{Deserialize, Serialize};

/// How the four files are fetched: each is decoded in the worker (`super::encoding`), so this
/// only chooses the file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    /// `.br`, 8.8 MB in all (the image files packed inside: `super::packed`): the default.
    Brotli,
    /// `.gz`, 11.6 MB (`?gzip`).
    Gzip,
    /// The IDX files as they are, 55 MB (`?raw`).
    Raw,
}

impl Encoding {
    fn extension(self) -> &'static str {
        match self {
            Self::Brotli => ".br",
            Self::Gzip => ".gz",
            Self::Raw => "",
        }
    }

    /// As the dataset panel says it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Brotli => "Brotli",
            Self::Gzip => "gzip",
            Self::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// URL of the folder holding the four files, ending in `/`.
    pub base_url: String,
    pub encoding: Encoding,
}

impl DataSource {
    pub fn url(&self, file: &str) -> String {
        format!("{}{file}{}", self.base_url, self.encoding.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_file_in_its_encoding() {
        let br = DataSource { base_url: "http://127.0.0.1:8080/data/".into(), encoding: Encoding::Brotli };
        assert_eq!(br.url("t10k-labels-idx1-ubyte"), "http://127.0.0.1:8080/data/t10k-labels-idx1-ubyte.br");
        let gz = DataSource { encoding: Encoding::Gzip, ..br.clone() };
        assert_eq!(gz.url("t10k-labels-idx1-ubyte"), "http://127.0.0.1:8080/data/t10k-labels-idx1-ubyte.gz");
        let raw = DataSource { encoding: Encoding::Raw, ..br };
        assert_eq!(raw.url("t10k-labels-idx1-ubyte"), "http://127.0.0.1:8080/data/t10k-labels-idx1-ubyte");
    }
}
