//! Typed errors for loading MNIST, written for the person reading the page: each one names
//! the file and says what is wrong with it.

use serde::{Deserialize, Serialize};

/// Why a dataset could not be loaded. Shown verbatim in the page next to a Retry button.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum DataError {
    /// The server answered, but not with the file (404, 500, ...).
    #[error("{file}: the server answered HTTP {status} {status_text}")]
    Http { file: String, status: u16, status_text: String },
    /// The request could not be made or broke off mid-download.
    #[error("{file}: the download failed after {received} bytes ({reason})")]
    Network { file: String, received: u64, reason: String },
    /// The bytes arrived but are not a valid MNIST file.
    #[error("{file}: {problem}")]
    File { file: String, problem: FileProblem },
    /// Both files of a split are valid on their own but do not belong together.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch { images: String, labels: String, image_count: u32, label_count: u32 },
}

/// What is wrong inside one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum FileProblem {
    #[error("it is truncated: {actual} bytes where the header promises {expected}")]
    Truncated { expected: u64, actual: u64 },
    #[error("it has {extra} bytes more than its header describes")]
    TrailingBytes { extra: u64 },
    #[error("it is too short ({actual} bytes) to hold an IDX header of {needed} bytes")]
    NoHeader { needed: usize, actual: usize },
    #[error("its magic number is {found:#010x}, expected {expected:#010x} ({kind})")]
    BadMagic { expected: u32, found: u32, kind: String },
    #[error("its images are {rows}x{cols}, expected 28x28")]
    WrongDimensions { rows: u32, cols: u32 },
    #[error("label #{index} is {label}, outside 0-9")]
    LabelOutOfRange { index: u32, label: u8 },
    #[error("it is not valid gzip ({reason})")]
    BadGzip { reason: String },
    #[error("it is not valid Brotli ({reason})")]
    BadBrotli { reason: String },
    /// A packed image file ([`super::packed`]) whose mask and pixels disagree.
    #[error("its packed pixels are damaged ({reason})")]
    BadPacking { reason: String },
    /// A file of several Brotli streams ([`super::parts`]) whose header or a part is wrong.
    #[error("its Brotli parts are damaged ({reason})")]
    BadParts { reason: String },
    #[error("it is, or inflates to, more than {limit} bytes, larger than any MNIST file")]
    TooLarge { limit: u64 },
}

impl FileProblem {
    /// Attach the file name, turning a parse problem into an error the page can show.
    pub fn in_file(self, file: &str) -> DataError {
        DataError::File { file: file.to_owned(), problem: self }
    }
}
