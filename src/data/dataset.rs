//! The loaded dataset: pixels stay one byte each until they go to the device, so the whole of
//! MNIST costs 55 MB of memory, not 220 MB of floats.

use serde::{Deserialize, Serialize};

use super::error::{DataError, FileProblem};
use super::encoding::decode;
use super::idx::{parse_images, parse_labels, IMAGE_PIXELS};
use super::stats::PixelStats;

/// The four files of MNIST, by the names the server uses (LeCun's original names).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
pub const FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Images and their labels, index-aligned. Invariant: `images.len() == labels.len() * 784`
/// and every label is 0-9 (both checked on construction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    #[serde(with = "serde_bytes")]
    images: Vec<u8>,
    #[serde(with = "serde_bytes")]
    labels: Vec<u8>,
}

impl Split {
    /// Parse and cross-check one image file and one label file (Brotli, gzip or raw).
    pub fn from_files(
        (images_name, images): (&str, Vec<u8>),
        (labels_name, labels): (&str, Vec<u8>),
    ) -> Result<Self, DataError> {
        Self::decoded_by((images_name, move || decode(images)), (labels_name, move || decode(labels)))
    }

    /// [`Split::from_files`] with each file's decoding given (the page decodes while it
    /// downloads, and only finishes here): called in the same order as there, so a bad file
    /// is reported as it would be either way.
    pub fn decoded_by(
        (images_name, images): (&str, impl FnOnce() -> Result<Vec<u8>, FileProblem>),
        (labels_name, labels): (&str, impl FnOnce() -> Result<Vec<u8>, FileProblem>),
    ) -> Result<Self, DataError> {
        let images = images().and_then(parse_images).map_err(|p| p.in_file(images_name))?;
        let labels = labels().and_then(parse_labels).map_err(|p| p.in_file(labels_name))?;
        if images.count as usize != labels.len() {
            return Err(DataError::CountMismatch {
                images: images_name.to_owned(),
                labels: labels_name.to_owned(),
                image_count: images.count,
                label_count: labels.len() as u32,
            });
        }
        Ok(Self { images: images.pixels, labels })
    }

    /// Build a split from already-valid parts (fixtures, subsets, gallery pages).
    ///
    /// # Panics
    /// If the parts do not line up or a label is not a digit: that is a bug in the caller.
    pub fn from_parts(images: Vec<u8>, labels: Vec<u8>) -> Self {
        assert_eq!(images.len(), labels.len() * IMAGE_PIXELS, "one 28x28 image per label");
        assert!(labels.iter().all(|&l| l < 10), "labels should be digits");
        Self { images, labels }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All pixels, image after image, 784 bytes each.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The 784 pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// The first `n` examples (all of them if there are fewer): the small subsets tests and
    /// quick runs train on.
    pub fn head(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self { images: self.images[..n * IMAGE_PIXELS].to_vec(), labels: self.labels[..n].to_vec() }
    }

    /// Examples `start..end` (clamped to the split): the held-out validation images.
    pub fn rows(&self, start: usize, end: usize) -> Self {
        let end = end.min(self.len());
        let start = start.min(end);
        Self { images: self.images[start * IMAGE_PIXELS..end * IMAGE_PIXELS].to_vec(), labels: self.labels[start..end].to_vec() }
    }

    /// How many examples of each digit.
    pub fn label_counts(&self) -> [u32; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

/// Training and test splits plus the training set's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mnist {
    pub train: Split,
    pub test: Split,
    pub stats: PixelStats,
}

impl Mnist {
    /// Assemble the dataset from the four files in [`FILES`] order.
    pub fn from_files(files: [Vec<u8>; 4]) -> Result<Self, DataError> {
        Self::decoded_by(files.map(|file| move || decode(file)))
    }

    /// [`Mnist::from_files`] with each file's decoding given, in [`FILES`] order
    /// ([`Split::decoded_by`]).
    pub fn decoded_by<F: FnOnce() -> Result<Vec<u8>, FileProblem>>(files: [F; 4]) -> Result<Self, DataError> {
        let [train_images, train_labels, test_images, test_labels] = files;
        let train = Split::decoded_by((TRAIN_IMAGES, train_images), (TRAIN_LABELS, train_labels))?;
        let test = Split::decoded_by((TEST_IMAGES, test_images), (TEST_LABELS, test_labels))?;
        Ok(Self::new(train, test))
    }

    /// Statistics always come from the training split, never from the test split.
    pub fn new(train: Split, test: Split) -> Self {
        let stats = PixelStats::of_pixels(train.images());
        Self { train, test, stats }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::error::FileProblem;
    use crate::data::idx::encode;

    /// A tiny valid file set: `n` images whose pixels encode their label.
    pub fn files(n_train: usize, n_test: usize) -> [Vec<u8>; 4] {
        let split = |n: usize| {
            let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
            let pixels: Vec<u8> = labels.iter().flat_map(|&l| [l * 20; IMAGE_PIXELS]).collect();
            (encode::images(n as u32, 28, 28, &pixels), encode::labels(&labels))
        };
        let (a, b) = split(n_train);
        let (c, d) = split(n_test);
        [a, b, c, d]
    }

    #[test]
    fn four_valid_files_make_a_dataset() {
        let mnist = Mnist::from_files(files(30, 10)).unwrap();
        assert_eq!((mnist.train.len(), mnist.test.len()), (30, 10));
        assert_eq!(mnist.train.label_counts(), [3; 10]);
        assert_eq!(mnist.test.image(7), &[140; IMAGE_PIXELS][..]);
    }

    #[test]
    fn image_and_label_counts_that_disagree_name_both_files() {
        let [a, _, c, d] = files(30, 10);
        let labels = encode::labels(&[1; 29]);
        let err = Mnist::from_files([a, labels, c, d]).unwrap_err();
        assert_eq!(
            err,
            DataError::CountMismatch {
                images: TRAIN_IMAGES.into(),
                labels: TRAIN_LABELS.into(),
                image_count: 30,
                label_count: 29
            }
        );
        assert!(err.to_string().contains("30 images but train-labels-idx1-ubyte holds 29"), "{err}");
    }

    #[test]
    fn a_problem_in_the_test_labels_names_that_file() {
        let [a, b, c, _] = files(10, 10);
        let err = Mnist::from_files([a, b, c, encode::labels(&[1, 2, 77])]).unwrap_err();
        assert_eq!(err, FileProblem::LabelOutOfRange { index: 2, label: 77 }.in_file(TEST_LABELS));
        assert_eq!(err.to_string(), "t10k-labels-idx1-ubyte: label #2 is 77, outside 0-9");
    }

    #[test]
    fn statistics_come_from_the_training_split() {
        let train = Split::from_parts(vec![255; 2 * IMAGE_PIXELS], vec![1, 2]);
        let test = Split::from_parts(vec![0; IMAGE_PIXELS], vec![3]);
        let mnist = Mnist::new(train, test);
        assert_eq!(mnist.stats.mean, 1.0);
    }
}
