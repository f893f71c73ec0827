//! The IDX format MNIST is distributed in (<http://yann.lecun.com/exdb/mnist/>):
//! a big-endian header, then one unsigned byte per pixel or label.
//!
//! The parser never allocates from a length field: it checks that the header's counts
//! multiply out (with overflow checks) to exactly the bytes present, then reuses the
//! buffer it was given.

use super::error::FileProblem;

/// MNIST images are 28x28; the networks are built for that and nothing else.
pub const IMAGE_SIDE: usize = 28;
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// Magic of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Bytes before an image file's pixels: magic, count, rows, columns.
pub const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// Parsed image file: `count` images of 28x28 bytes, row-major, 0 = background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub count: u32,
    pub pixels: Vec<u8>,
}

/// Parse an IDX image file, taking ownership of its bytes so the pixels are not copied.
pub fn parse_images(mut bytes: Vec<u8>) -> Result<Images, FileProblem> {
    let count = image_count(&bytes)?;
    check_length(&bytes, IMAGES_HEADER, u64::from(count) * IMAGE_PIXELS as u64)?;
    bytes.drain(..IMAGES_HEADER);
    Ok(Images { count, pixels: bytes })
}

/// The number of images an IDX image file's header announces, once its magic number and
/// its 28x28 dimensions are checked (the body is not looked at). Also the header check of a
/// file whose pixels are packed ([`super::zeros`]), so both forms fail alike.
pub fn image_count(bytes: &[u8]) -> Result<u32, FileProblem> {
    let header = header::<IMAGES_HEADER>(bytes)?;
    check_magic(word(&header, 0), IMAGES_MAGIC, "images")?;
    let (count, rows, cols) = (word(&header, 1), word(&header, 2), word(&header, 3));
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(FileProblem::WrongDimensions { rows, cols });
    }
    Ok(count)
}

/// Parse an IDX label file; every label must be a digit.
pub fn parse_labels(mut bytes: Vec<u8>) -> Result<Vec<u8>, FileProblem> {
    let header = header::<LABELS_HEADER>(&bytes)?;
    check_magic(word(&header, 0), LABELS_MAGIC, "labels")?;
    check_length(&bytes, LABELS_HEADER, u64::from(word(&header, 1)))?;
    bytes.drain(..LABELS_HEADER);
    if let Some((index, &label)) = bytes.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(FileProblem::LabelOutOfRange { index: index as u32, label });
    }
    Ok(bytes)
}

fn header<const N: usize>(bytes: &[u8]) -> Result<[u8; N], FileProblem> {
    bytes
        .get(..N)
        .map(|h| h.try_into().expect("slice of length N should convert to [u8; N]"))
        .ok_or(FileProblem::NoHeader { needed: N, actual: bytes.len() })
}

fn word(header: &[u8], index: usize) -> u32 {
    let at = index * 4;
    u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
}

fn check_magic(found: u32, expected: u32, kind: &str) -> Result<(), FileProblem> {
    if found == expected {
        Ok(())
    } else {
        Err(FileProblem::BadMagic { expected, found, kind: kind.to_owned() })
    }
}

/// The body after the header must be exactly `body` bytes: fewer is a truncated download,
/// more means the header lies about the count.
fn check_length(bytes: &[u8], header: usize, body: u64) -> Result<(), FileProblem> {
    let expected = header as u64 + body;
    let actual = bytes.len() as u64;
    match actual.cmp(&expected) {
        std::cmp::Ordering::Less => Err(FileProblem::Truncated { expected, actual }),
        std::cmp::Ordering::Greater => Err(FileProblem::TrailingBytes { extra: actual - expected }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Encoders for tests and fixtures: the inverse of the parsers.
pub mod encode {
    use super::*;

    pub fn images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(IMAGES_HEADER + pixels.len());
        for w in [IMAGES_MAGIC, count, rows, cols] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(pixels);
        out
    }

    pub fn labels(labels: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(LABELS_HEADER + labels.len());
        out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        out.extend_from_slice(labels);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_images() -> Vec<u8> {
        let pixels: Vec<u8> = (0..2 * IMAGE_PIXELS).map(|i| (i % 251) as u8).collect();
        encode::images(2, 28, 28, &pixels)
    }

    #[test]
    fn valid_images_parse_without_copying_the_header() {
        let parsed = parse_images(two_images()).unwrap();
        assert_eq!(parsed.count, 2);
        assert_eq!(parsed.pixels.len(), 2 * IMAGE_PIXELS);
        assert_eq!(parsed.pixels[IMAGE_PIXELS + 3], ((IMAGE_PIXELS + 3) % 251) as u8);
    }

    #[test]
    fn valid_labels_parse() {
        assert_eq!(parse_labels(encode::labels(&[0, 9, 5])).unwrap(), vec![0, 9, 5]);
    }

    #[test]
    fn a_truncated_image_file_says_how_much_is_missing() {
        let mut bytes = two_images();
        bytes.truncate(1000);
        assert_eq!(
            parse_images(bytes),
            Err(FileProblem::Truncated { expected: 16 + 2 * 784, actual: 1000 })
        );
    }

    #[test]
    fn a_file_shorter_than_its_header_is_rejected() {
        assert_eq!(parse_images(vec![0, 0, 8]), Err(FileProblem::NoHeader { needed: 16, actual: 3 }));
        assert_eq!(parse_labels(vec![]), Err(FileProblem::NoHeader { needed: 8, actual: 0 }));
    }

    #[test]
    fn extra_bytes_after_the_images_are_rejected() {
        let mut bytes = two_images();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(parse_images(bytes), Err(FileProblem::TrailingBytes { extra: 3 }));
    }

    #[test]
    fn a_label_file_given_as_images_has_the_wrong_magic() {
        let err = parse_images(encode::labels(&[1; 20])).unwrap_err();
        assert_eq!(
            err,
            FileProblem::BadMagic { expected: IMAGES_MAGIC, found: LABELS_MAGIC, kind: "images".into() }
        );
        assert!(err.to_string().contains("0x00000801"), "{err}");
    }

    #[test]
    fn an_image_file_given_as_labels_has_the_wrong_magic() {
        assert!(matches!(parse_labels(two_images()), Err(FileProblem::BadMagic { found: IMAGES_MAGIC, .. })));
    }

    #[test]
    fn images_that_are_not_28x28_are_rejected() {
        let bytes = encode::images(1, 32, 32, &[0; 32 * 32]);
        assert_eq!(parse_images(bytes), Err(FileProblem::WrongDimensions { rows: 32, cols: 32 }));
    }

    #[test]
    fn a_label_outside_0_to_9_is_named_by_index() {
        assert_eq!(
            parse_labels(encode::labels(&[3, 4, 10, 2])),
            Err(FileProblem::LabelOutOfRange { index: 2, label: 10 })
        );
    }

    #[test]
    fn a_huge_count_in_the_header_does_not_allocate_or_overflow() {
        // u32::MAX images of 784 bytes would overflow 32-bit arithmetic on wasm32.
        let bytes = encode::images(u32::MAX, 28, 28, &[0; 10]);
        assert!(matches!(parse_images(bytes), Err(FileProblem::Truncated { .. })));
        let mut labels = encode::labels(&[1]);
        labels[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(parse_labels(labels), Err(FileProblem::Truncated { .. })));
    }
}
