//! Served files may be compressed: Brotli (the page's default: MNIST shrinks from 55 MB to
//! 9.2 MB) or gzip (11.6 MB). They are decoded here, in Rust, so the page depends neither on
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
    if is_gzip(&bytes) {
        // A short Brotli stream can begin with gzip's two magic bytes too (its first byte is
        // 0x1f for our window, its second the low byte of a length): read as Brotli before
        // calling it damaged gzip.
        return inflate(&bytes).or_else(|gzip| unbrotli(&bytes).map_err(|_| gzip));
    }
    unbrotli(&bytes)
}

fn inflate(bytes: &[u8]) -> Result<Vec<u8>, FileProblem> {
    // MNIST's gzip files are about a fifth of their size: reserving that avoids growing (and
    // so doubling) the buffer while inflating.
    let decoder = flate2::read::GzDecoder::new(bytes);
    read_limited(decoder, bytes.len() * 5, |reason| FileProblem::BadGzip { reason })
}

fn unbrotli(bytes: &[u8]) -> Result<Vec<u8>, FileProblem> {
    // Brotli packs the images about 6 times and the labels about 2.3 times; 7 times the
    // compressed size holds every MNIST file without growing the buffer.
    let decoder = brotli_decompressor::Decompressor::new(bytes, 1 << 16);
    read_limited(decoder, bytes.len() * 7, |reason| FileProblem::BadBrotli { reason })
}

/// Everything `decoder` gives, up to [`INFLATED_LIMIT`], into a buffer of `expected` bytes
/// reserved at first (a 47 MB file that outgrew its buffer would briefly take twice that);
/// `bad` names a decoding error.
fn read_limited(decoder: impl Read, expected: usize, bad: fn(String) -> FileProblem) -> Result<Vec<u8>, FileProblem> {
    let mut out = Vec::with_capacity(expected.min(INFLATED_LIMIT as usize));
    decoder.take(INFLATED_LIMIT + 1).read_to_end(&mut out).map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 > INFLATED_LIMIT {
        return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT });
    }
    out.shrink_to_fit();
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

    #[test]
    fn a_brotli_stream_that_begins_like_gzip_is_read_as_brotli() {
        // 396 bytes (i * 7 mod 256), Brotli quality 11 with a 16 MiB window: its first two
        // bytes are gzip's magic number.
        const LIKE_GZIP: [u8; 244] = [
            31, 139, 1, 248, 175, 10, 108, 71, 7, 129, 100, 115, 120, 150, 61, 246, 217, 224, 171, 193, 115,
            171, 84, 238, 43, 191, 149, 223, 198, 145, 143, 141, 61, 102, 181, 14, 206, 75, 109, 246, 201,
            193, 121, 33, 180, 249, 34, 7, 231, 149, 208, 230, 139, 28, 156, 151, 66, 155, 125, 50, 20, 141,
            87, 124, 6, 224, 24, 143, 154, 60, 30, 127, 193, 20, 59, 42, 135, 253, 235, 168, 108, 133, 69,
            191, 189, 11, 209, 105, 216, 191, 7, 43, 105, 40, 124, 91, 238, 128, 4, 221, 75, 155, 249, 170,
            32, 175, 185, 73, 61, 157, 3, 224, 174, 206, 215, 241, 131, 245, 35, 58, 13, 251, 151, 169, 108,
            133, 69, 191, 189, 45, 145, 204, 32, 239, 214, 103, 198, 42, 246, 219, 123, 35, 201, 5, 184,
            171, 243, 229, 33, 175, 185, 73, 61, 157, 37, 224, 84, 39, 174, 198, 227, 223, 152, 45, 211,
            185, 127, 212, 216, 98, 21, 251, 237, 77, 68, 50, 131, 188, 91, 159, 6, 139, 134, 159, 181, 203,
            61, 33, 25, 186, 245, 185, 160, 160, 252, 204, 150, 233, 116, 128, 83, 157, 184, 26, 143, 191,
            103, 138, 29, 149, 195, 254, 173, 212, 228, 241, 248, 95, 162, 117, 144, 12, 221, 250, 68, 44,
            26, 126, 214, 46, 119, 141, 4, 221, 75, 155, 249, 26, 161, 240, 109, 185, 79, 2
        ];
        assert_eq!(LIKE_GZIP[..2], [0x1f, 0x8b]);
        let expected: Vec<u8> = (0..396u32).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(decode(LIKE_GZIP.to_vec()).unwrap(), expected);
    }
}
