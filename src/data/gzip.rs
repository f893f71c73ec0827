//! Served files may be gzip-compressed (MNIST shrinks from 55 MB to about 11 MB); they are
//! inflated here, in Rust, so the page does not depend on the server's Content-Encoding.

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

/// Inflate gzip bytes, or hand raw IDX bytes back untouched. The CRC and length in the gzip
/// trailer are checked, so a truncated download is caught here, not as garbage pixels.
pub fn inflate_if_gzip(bytes: Vec<u8>) -> Result<Vec<u8>, FileProblem> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    // MNIST compresses about 5x; reserving that avoids most reallocations while inflating.
    let mut out = Vec::with_capacity((bytes.len() * 5).min(INFLATED_LIMIT as usize));
    let mut decoder = flate2::read::GzDecoder::new(bytes.as_slice()).take(INFLATED_LIMIT + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| FileProblem::BadGzip { reason: e.to_string() })?;
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
        assert_eq!(inflate_if_gzip(gzip(&data)).unwrap(), data);
    }

    #[test]
    fn raw_bytes_pass_through_untouched() {
        let data = vec![0, 0, 8, 3, 1, 2];
        assert_eq!(inflate_if_gzip(data.clone()).unwrap(), data);
    }

    #[test]
    fn a_truncated_gzip_stream_is_an_error_not_short_data() {
        let mut bytes = gzip(&vec![5u8; 50_000]);
        bytes.truncate(bytes.len() - 6);
        assert!(matches!(inflate_if_gzip(bytes), Err(FileProblem::BadGzip { .. })));
    }

    #[test]
    fn a_corrupted_gzip_stream_fails_its_checksum() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut bytes = gzip(&data);
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        assert!(matches!(inflate_if_gzip(bytes), Err(FileProblem::BadGzip { .. })));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; INFLATED_LIMIT as usize + 10]);
        assert_eq!(inflate_if_gzip(bomb), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
    }
}
