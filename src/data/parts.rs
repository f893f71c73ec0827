//! A file served as several Brotli streams ("parts") whose outputs, one after another, are
//! the file: how the page's copies of the two image files are compressed
//! (`scripts/compress.mjs --parts`), so that the threaded trainer decodes them on several
//! threads at once ([`super::lanes`]). One Brotli stream can only be decoded in order, and
//! decoding the training images' single stream was most of the time from their arrival to
//! the dataset being ready (natively 134 ms of about 180 with the unpacking).
//! `scripts/compress.mjs` cuts a packed image file where its mask ends and its pixels in
//! equal pieces; any cuts decode the same.
//!
//! | bytes | what |
//! |---|---|
//! | 4 | [`MAGIC`]: 0x11 then `MNP` |
//! | 4 | n, the number of parts, 1 to [`MAX_PARTS`], big-endian |
//! | 4 n | each part's length in bytes, big-endian |
//! | the rest | the parts in order, each one whole Brotli stream, nothing after the last |
//!
//! A Brotli stream cannot begin with the byte 0x11: its low seven bits are the one window
//! code RFC 7932 (section 9.1) leaves invalid, so a parts file is never mistaken for Brotli
//! (`encoding` tests that the decoder refuses it).

use std::ops::Range;

use super::error::FileProblem;

pub const MAGIC: [u8; 4] = [0x11, b'M', b'N', b'P'];
/// More parts than threads any page gets would only cost compression.
pub const MAX_PARTS: usize = 16;

/// Whether these bytes start like a parts file.
pub fn is_parts(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Whether bytes that start like this may still turn out to be a parts file once more
/// arrive (a streaming decoder waits for [`MAGIC`] whole before it chooses).
pub fn may_be_parts(bytes: &[u8]) -> bool {
    bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes)
}

/// Where each part lies in the file, from its header: `Ok(None)` while `bytes` (the file so
/// far) is too short to hold the header. The lengths are not checked against the file here.
pub fn layout(bytes: &[u8]) -> Result<Option<Vec<Range<usize>>>, FileProblem> {
    let word = |at: usize| bytes.get(at..at + 4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize);
    let Some(count) = word(MAGIC.len()) else { return Ok(None) };
    if !(1..=MAX_PARTS).contains(&count) {
        return Err(FileProblem::BadParts { reason: format!("its header names {count} parts, expected 1 to {MAX_PARTS}") });
    }
    let header = MAGIC.len() + 4 + 4 * count;
    let mut start = header;
    let mut parts = Vec::with_capacity(count);
    for i in 0..count {
        let Some(len) = word(MAGIC.len() + 4 + 4 * i) else { return Ok(None) };
        // Sixteen lengths of up to 4 GiB each overflow a 32-bit address space: no MNIST file.
        let end = start.checked_add(len).filter(|&end| end as u64 <= u32::MAX as u64).ok_or_else(|| FileProblem::BadParts {
            reason: "its parts' lengths add up to more than 4 GiB".into(),
        })?;
        parts.push(start..end);
        start = end;
    }
    Ok(Some(parts))
}

/// What each part of a whole parts file decodes to, in order (the file is their
/// concatenation): each part through `decode`, given the bytes of output still allowed,
/// `limit` less what earlier parts gave. The outputs are left apart, as the streaming decoder
/// leaves them ([`super::lanes`]), so that a packed image file is unpacked from where they lie
/// rather than from a joined copy ([`super::packed::unpack_pieces`]).
pub fn decode_each(bytes: &[u8], limit: u64, decode: impl Fn(&[u8], u64) -> Result<Vec<u8>, FileProblem>) -> Result<Vec<Vec<u8>>, FileProblem> {
    let parts = match layout(bytes)? {
        Some(parts) => parts,
        None => {
            let count = bytes.get(4..8).map_or(1, |w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as u64);
            return Err(FileProblem::Truncated { expected: (MAGIC.len() + 4) as u64 + 4 * count, actual: bytes.len() as u64 });
        }
    };
    let end = parts.last().map_or(0, |p| p.end) as u64;
    match (bytes.len() as u64).cmp(&end) {
        std::cmp::Ordering::Less => return Err(FileProblem::Truncated { expected: end, actual: bytes.len() as u64 }),
        std::cmp::Ordering::Greater => return Err(FileProblem::TrailingBytes { extra: bytes.len() as u64 - end }),
        std::cmp::Ordering::Equal => {}
    }
    let count = parts.len();
    let mut outputs = Vec::with_capacity(count);
    let mut used = 0u64;
    for (i, part) in parts.into_iter().enumerate() {
        let decoded = decode(&bytes[part], limit - used).map_err(|problem| match problem {
            FileProblem::BadBrotli { reason } => FileProblem::BadParts { reason: format!("part {} of {count}: {reason}", i + 1) },
            other => other,
        })?;
        used += decoded.len() as u64;
        outputs.push(decoded);
    }
    Ok(outputs)
}

/// A parts file's header for parts of these lengths (the tests build files with it; setup's
/// `scripts/compress.mjs` writes the same).
pub fn header(lengths: &[usize]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(lengths.len() as u32).to_be_bytes());
    for &len in lengths {
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_waits_for_the_whole_header_then_places_each_part() {
        let file = [header(&[3, 0, 5]), vec![9; 8]].concat();
        for cut in 0..MAGIC.len() + 4 + 12 {
            assert_eq!(layout(&file[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(layout(&file), Ok(Some(vec![20..23, 23..23, 23..28])));
    }

    #[test]
    fn a_header_naming_no_parts_or_too_many_is_refused() {
        for count in [0u32, MAX_PARTS as u32 + 1, u32::MAX] {
            let file = [&MAGIC[..], &count.to_be_bytes()].concat();
            assert!(matches!(layout(&file), Err(FileProblem::BadParts { .. })), "{count} parts");
        }
    }

    #[test]
    fn lengths_past_4_gib_are_refused_not_wrapped() {
        let file = header(&[u32::MAX as usize, 16]);
        assert!(matches!(layout(&file), Err(FileProblem::BadParts { .. })));
    }

    #[test]
    fn a_file_shorter_or_longer_than_its_parts_is_refused_before_any_decoding() {
        let file = [header(&[2, 2]), vec![1, 2, 3, 4]].concat();
        let echo = |part: &[u8], _: u64| Ok(part.to_vec());
        assert_eq!(decode_each(&file, 100, echo), Ok(vec![vec![1, 2], vec![3, 4]]));
        assert_eq!(decode_each(&file[..file.len() - 1], 100, echo), Err(FileProblem::Truncated { expected: 20, actual: 19 }));
        assert_eq!(decode_each(&[&file[..], &[0]].concat(), 100, echo), Err(FileProblem::TrailingBytes { extra: 1 }));
        assert_eq!(decode_each(&file[..10], 100, echo), Err(FileProblem::Truncated { expected: 16, actual: 10 }));
    }

    #[test]
    fn a_bad_part_is_named_and_each_part_gets_what_is_left_of_the_limit() {
        let file = [header(&[2, 2]), vec![1, 2, 3, 4]].concat();
        let limits = std::cell::RefCell::new(vec![]);
        let _ = decode_each(&file, 100, |part, left| {
            limits.borrow_mut().push(left);
            Ok(part.to_vec())
        });
        assert_eq!(*limits.borrow(), [100, 98]);
        let second_bad = |part: &[u8], _: u64| if part[0] == 3 { Err(FileProblem::BadBrotli { reason: "x".into() }) } else { Ok(part.to_vec()) };
        assert_eq!(decode_each(&file, 100, second_bad), Err(FileProblem::BadParts { reason: "part 2 of 2: x".into() }));
    }
}
