//! Served files may be compressed: Brotli (the page's default: MNIST shrinks from 55 MB to
//! 9.2 MB) or gzip (11.3 MB). They are decoded here, in Rust, so the page depends neither on
//! the server's Content-Encoding nor on the browser's `DecompressionStream` (which has no
//! Brotli), and works from any static host.
//!
//! Which encoding is told by the bytes themselves: gzip by its magic number; a raw IDX file by
//! its first two bytes, which are always zero (the magic numbers are 0x00000801 and
//! 0x00000803); anything else is read as Brotli, which has no magic number. Our Brotli files
//! use a 16 MiB window, whose stream header's first byte is odd, never zero.

use std::io::Read;

use super::error::FileProblem;

/// No MNIST file inflates past this (the largest is 47,040,016 bytes); a gzip bomb stops here.
pub const INFLATED_LIMIT: u64 = 64 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether these bytes start like a gzip stream. IDX files start with two zero bytes, so
/// the two formats cannot be confused.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Whether these bytes can be a raw IDX file (too short to tell counts as raw: the IDX parser
/// then says what is missing).
fn is_raw(bytes: &[u8]) -> bool {
    bytes.len() < 2 || bytes.starts_with(&[0, 0])
}

/// Decode gzip or Brotli bytes, or hand raw IDX bytes back untouched. A truncated download
/// is caught here (gzip's CRC and length; Brotli's stream ends early), not as garbage pixels.
/// Brotli carries no checksum: a flipped byte mid-stream may decode, and is then left to the
/// IDX checks (sizes, magic numbers, labels in 0-9).
pub fn decode(bytes: Vec<u8>) -> Result<Vec<u8>, FileProblem> {
    if is_raw(&bytes) {
        return Ok(bytes);
    }
    let gzip = is_gzip(&bytes);
    // MNIST compresses about 5x; reserving that avoids most reallocations while decoding.
    let mut out = Vec::with_capacity((bytes.len() * 5).min(INFLATED_LIMIT as usize));
    let read = if gzip {
        flate2::read::GzDecoder::new(bytes.as_slice()).take(INFLATED_LIMIT + 1).read_to_end(&mut out)
    } else {
        brotli_decompressor::Decompressor::new(bytes.as_slice(), 1 << 16)
            .take(INFLATED_LIMIT + 1)
            .read_to_end(&mut out)
    };
    read.map_err(|e| {
        let reason = e.to_string();
        if gzip { FileProblem::BadGzip { reason } } else { FileProblem::BadBrotli { reason } }
    })?;
    if out.len() as u64 > INFLATED_LIMIT {
        return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_round_trips() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        assert_eq!(decode(gzip(&data)).unwrap(), data);
    }

    #[test]
    fn raw_bytes_pass_through_untouched() {
        let data = vec![0, 0, 8, 3, 1, 2];
        assert_eq!(decode(data.clone()).unwrap(), data);
    }

    #[test]
    fn a_truncated_gzip_stream_is_an_error_not_short_data() {
        let mut bytes = gzip(&vec![5u8; 50_000]);
        bytes.truncate(bytes.len() - 6);
        assert!(matches!(decode(bytes), Err(FileProblem::BadGzip { .. })));
    }

    #[test]
    fn a_corrupted_gzip_stream_fails_its_checksum() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut bytes = gzip(&data);
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        assert!(matches!(decode(bytes), Err(FileProblem::BadGzip { .. })));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; INFLATED_LIMIT as usize + 10]);
        assert_eq!(decode(bomb), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
    }

    /// A labels file of 20 images (0x801, count 20, labels 0-9 twice), Brotli quality 11 with
    /// a 16 MiB window (Python's `brotli.compress`).
    const LABELS_BR: [u8; 19] = [31, 27, 0, 248, 135, 113, 192, 242, 248, 202, 23, 104, 74, 1, 107, 160, 193, 207, 58];

    fn labels_raw() -> Vec<u8> {
        let mut raw = [0x801u32, 20].iter().flat_map(|w| w.to_be_bytes()).collect::<Vec<u8>>();
        raw.extend((0..20).map(|i| i % 10));
        raw
    }

    #[test]
    fn brotli_decodes_to_the_raw_file() {
        assert_eq!(decode(LABELS_BR.to_vec()).unwrap(), labels_raw());
    }

    #[test]
    fn a_truncated_brotli_stream_is_an_error_not_short_data() {
        for cut in 2..LABELS_BR.len() {
            let result = decode(LABELS_BR[..cut].to_vec());
            assert!(matches!(result, Err(FileProblem::BadBrotli { .. })), "cut at {cut}: {result:?}");
        }
    }

    #[test]
    fn a_brotli_bomb_stops_at_the_limit() {
        // 64 MiB + 10 zero bytes, Brotli quality 11: 63 bytes.
        const BOMB: [u8; 63] = [
            207, 255, 255, 127, 248, 39, 0, 226, 177, 64, 32, 247, 254, 159, 255, 255, 255, 240, 79, 0, 196, 97, 1,
            128, 238, 253, 63, 255, 255, 255, 225, 159, 0, 136, 195, 34, 0, 221, 251, 127, 254, 255, 255, 195, 63, 1,
            16, 135, 5, 0, 186, 247, 255, 145, 0, 128, 127, 2, 32, 128, 8, 0, 0,
        ];
        assert_eq!(decode(BOMB.to_vec()), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
    }

    #[test]
    fn bytes_that_are_neither_idx_gzip_nor_brotli_say_so() {
        assert!(matches!(decode(b"<!doctype html>".to_vec()), Err(FileProblem::BadBrotli { .. })));
    }
}
