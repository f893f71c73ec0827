//! Served files may be compressed: Brotli (the page's default: MNIST shrinks from 55 MB to
//! 8.8 MB, its image files packed first, see [`super::packed`]) or gzip (11.6 MB). They are decoded here, in Rust, so the page depends neither on
//! the server's Content-Encoding nor on the browser's `DecompressionStream` (which has no
//! Brotli), and works from any static host.
//!
//! Which encoding is told by the bytes themselves: gzip by its magic number; a raw IDX file by
//! its first two bytes, which are always zero (the magic numbers are 0x00000801 and
//! 0x00000803); anything else is read as Brotli, which has no magic number. Our Brotli files
//! use a 16 MiB window, whose stream header's first byte is odd, never zero. What a stream
//! decompresses to is an IDX file or a packed image file, told by its first bytes too.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::error::FileProblem;
use super::lanes::Parts;
use super::packed::{is_packed, unpack, unpack_pieces};
use super::parts::{decode_each, is_parts, may_be_parts};

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
        return inflate(&bytes).or_else(|gzip| unbrotli(&bytes).map_err(|_| gzip)).and_then(as_idx);
    }
    if is_parts(&bytes) {
        return decode_each(&bytes, INFLATED_LIMIT, unbrotli_within).and_then(as_idx_pieces);
    }
    unbrotli(&bytes).and_then(as_idx)
}

/// A decompressed file as IDX: a packed image file is unpacked, anything else is already IDX
/// (or not MNIST at all, which the IDX parser then says).
fn as_idx(bytes: Vec<u8>) -> Result<Vec<u8>, FileProblem> {
    if is_packed(&bytes) {
        unpack(&bytes)
    } else {
        Ok(bytes)
    }
}

/// A file decoded while it downloads: Brotli bytes (the page's default) go through the
/// decoder chunk by chunk as they arrive, so decoding overlaps the download instead of
/// following it (about 0.35 s of Brotli for MNIST's training images in the browser). A parts
/// file ([`super::parts`], the image files) has its parts decoded on up to `threads` threads
/// at once ([`Parts`]).
///
/// The result is always [`decode`]'s on the whole file: every byte received is kept, and
/// whenever the stream does anything but end cleanly with the last byte (a decoding error, a
/// truncated stream, bytes after its end, output past [`INFLATED_LIMIT`]), or the file is not
/// Brotli, [`Streaming::finish`] decodes the kept bytes with [`decode`], so each error is
/// exactly the one the whole file gives.
#[derive(Default)]
pub struct Streaming {
    received: Vec<u8>,
    /// The live decoder; `None` before the first bytes tell the form, after the form turned
    /// out to be neither Brotli nor parts, and once the stream did not go cleanly.
    live: Option<Live>,
    /// The server's length, if it gave one: the output's first reservation.
    expected: Option<u64>,
    /// Threads a parts file may be decoded on (0 counts as 1).
    threads: usize,
    /// The first bytes have told the form (whether or not it is decoded as it arrives).
    decided: bool,
}

enum Live {
    Brotli(Stream),
    Parts(Parts),
}

impl Streaming {
    /// A file whose parts, if it has any, may be decoded on `threads` threads.
    pub fn on_threads(threads: usize) -> Self {
        Self { threads, ..Self::default() }
    }

    /// The file's length as served, once known before the first chunk: the buffers'
    /// reservations (a hint, bounded by the limit).
    pub fn expect(&mut self, total: Option<u64>) {
        self.expected = total;
        self.received.reserve(total.unwrap_or(0).min(INFLATED_LIMIT) as usize);
    }

    /// The next chunk of the file.
    pub fn push(&mut self, chunk: &[u8]) {
        let start = self.received.len();
        self.received.extend_from_slice(chunk);
        if self.decided {
            self.feed(start);
            return;
        }
        // The form is told by the first two bytes, on the chunk that completes them (four
        // when they may begin a parts file's magic: a first chunk of two or three such bytes
        // once left the form undecided for good, and a parts file decoded only at its end, on
        // one thread).
        if self.received.len() < 2 || may_be_parts(&self.received) {
            return;
        }
        self.decided = true;
        if is_raw(&self.received) || is_gzip(&self.received) {
            return;
        }
        self.live = Some(if is_parts(&self.received) {
            Live::Parts(Parts::new(self.threads))
        } else {
            Live::Brotli(Stream::new(self.expected.unwrap_or(0), Arc::default()))
        });
        self.feed(0);
    }

    /// Decode `received[from..]`, or give up on the stream (left to [`decode`]).
    fn feed(&mut self, from: usize) {
        match self.live.as_mut() {
            None => {}
            Some(Live::Parts(parts)) => parts.feed(&self.received),
            Some(Live::Brotli(stream)) => {
                if !stream.push(&self.received[from..]) {
                    self.live = None;
                }
            }
        }
    }

    /// The decoded file, or what is wrong with it.
    pub fn finish(mut self) -> Result<Vec<u8>, FileProblem> {
        let decoded = match self.live.take() {
            Some(Live::Brotli(mut stream)) => stream.finish().map(|out| vec![out]),
            Some(Live::Parts(parts)) => parts.finish(),
            None => None,
        };
        match decoded {
            Some(outputs) => as_idx_pieces(outputs),
            None => decode(self.received),
        }
    }
}

/// A decompressed file that came as pieces (a parts file's outputs, in order, streamed or
/// decoded whole) as IDX, without joining the pieces when they hold a packed image file: the
/// join would be a 15.7 MB copy of the training images' packed form, alive beside the pieces
/// and then beside the 47 MB IDX file, in a wasm memory that never shrinks.
fn as_idx_pieces(mut outputs: Vec<Vec<u8>>) -> Result<Vec<u8>, FileProblem> {
    if outputs.len() == 1 {
        let mut out = outputs.pop().unwrap_or_default();
        out.shrink_to_fit();
        return as_idx(out);
    }
    if outputs.first().is_some_and(|first| is_packed(first)) {
        return unpack_pieces(&outputs.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
    // A plain file in parts (no page's file is): the IDX parser needs it in one piece.
    as_idx(outputs.concat())
}

/// A Brotli stream decoded as its bytes arrive: a whole file's, or one part's of a parts file
/// ([`super::lanes`]). Its decoder and output buffer are made when its first bytes come (for a
/// part, on the pool thread that decodes it).
pub(super) struct Stream {
    writer: Option<brotli_decompressor::DecompressorWriter<Bounded>>,
    failed: bool,
    /// The stream's compressed length, if known (0 if not): its output's first reservation.
    length: u64,
    /// Output counted against [`INFLATED_LIMIT`], shared by a parts file's streams.
    used: Arc<AtomicU64>,
}

impl Stream {
    pub(super) fn new(length: u64, used: Arc<AtomicU64>) -> Self {
        Self { writer: None, failed: false, length, used }
    }

    /// Decode the stream's next bytes; `false` once it has failed, ended before them, or gone
    /// past the limit (it then takes nothing more).
    pub(super) fn push(&mut self, bytes: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        let (length, used) = (self.length, &self.used);
        let writer = self.writer.get_or_insert_with(|| {
            // See `BROTLI_RATIO` for the factor.
            let reserve = length.saturating_mul(BROTLI_RATIO).min(INFLATED_LIMIT) as usize;
            brotli_decompressor::DecompressorWriter::new(Bounded::new(reserve, used.clone()), 1 << 16)
        });
        // Fewer bytes taken than given: the stream ended before them (or failed).
        self.failed = !matches!(std::io::Write::write(writer, bytes), Ok(n) if n == bytes.len());
        !self.failed
    }

    /// The stream's output; `None` if it failed, never started, or did not end.
    pub(super) fn finish(&mut self) -> Option<Vec<u8>> {
        if self.failed {
            return None;
        }
        // `into_inner` closes the stream: an error there is a stream that has not ended.
        self.writer.take()?.into_inner().ok().map(|bounded| bounded.out)
    }
}

/// Decoded bytes, refusing any past [`INFLATED_LIMIT`] (an error the decoder passes on), and
/// never reserving past it either: doubling a 40 MB buffer would take 80 MB of a wasm memory
/// that never shrinks. The count is shared by the buffers of one file's parts (each part has
/// its own), so together they stop at the limit too.
struct Bounded {
    out: Vec<u8>,
    used: Arc<AtomicU64>,
}

impl Bounded {
    /// A buffer of `reserve` bytes (at most the limit) counting its output in `used`.
    fn new(reserve: usize, used: Arc<AtomicU64>) -> Self {
        Self { out: Vec::with_capacity(reserve.min(INFLATED_LIMIT as usize)), used }
    }
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let limit = INFLATED_LIMIT as usize;
        let before = self.used.fetch_add(buf.len() as u64, Ordering::Relaxed) as usize;
        if before + buf.len() > limit {
            return Err(std::io::Error::other("past the limit"));
        }
        let needed = self.out.len() + buf.len();
        if needed > self.out.capacity() {
            // What the other parts have not taken bounds this one's growth.
            let room = limit - (before - self.out.len());
            self.out.reserve_exact((self.out.capacity() * 2).clamp(needed, room) - self.out.len());
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn inflate(bytes: &[u8]) -> Result<Vec<u8>, FileProblem> {
    // MNIST's gzip files are about a fifth of their size: reserving that avoids growing (and
    // so doubling) the buffer while inflating.
    let decoder = flate2::read::GzDecoder::new(bytes);
    read_limited(decoder, bytes.len() * 5, INFLATED_LIMIT, |reason| FileProblem::BadGzip { reason })
}

/// What the decompressed buffer reserves, in times the compressed size: the packed image
/// files are about 2.1 times their Brotli, the labels 2.3 (a Brotli copy of a plain IDX image
/// file, 6 times, grows the buffer as it goes). Reserving for the plain files' 6 would hold
/// 45 MB of a wasm memory that never shrinks beside the 47 MB the training images unpack to.
const BROTLI_RATIO: u64 = 3;

fn unbrotli(bytes: &[u8]) -> Result<Vec<u8>, FileProblem> {
    unbrotli_within(bytes, INFLATED_LIMIT)
}

/// [`unbrotli`] allowed `limit` bytes of output (a part of a file, given what is left).
fn unbrotli_within(bytes: &[u8], limit: u64) -> Result<Vec<u8>, FileProblem> {
    let decoder = brotli_decompressor::Decompressor::new(bytes, 1 << 16);
    read_limited(decoder, bytes.len() * BROTLI_RATIO as usize, limit, |reason| FileProblem::BadBrotli { reason })
}

/// Everything `decoder` gives, up to `limit`, into a buffer of `expected` bytes reserved at
/// first (a 47 MB file that outgrew its buffer would briefly take twice that); `bad` names a
/// decoding error. Past the limit is [`FileProblem::TooLarge`] naming [`INFLATED_LIMIT`]:
/// a smaller limit is what a file's other parts left of it.
fn read_limited(decoder: impl Read, expected: usize, limit: u64, bad: fn(String) -> FileProblem) -> Result<Vec<u8>, FileProblem> {
    let mut out = Vec::with_capacity(expected.min(limit as usize));
    decoder.take(limit + 1).read_to_end(&mut out).map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT });
    }
    out.shrink_to_fit();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::data::IMAGE_PIXELS;

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

    /// 64 MiB + 10 zero bytes, Brotli quality 11: 63 bytes.
    const BOMB: [u8; 63] = [
        207, 255, 255, 127, 248, 39, 0, 226, 177, 64, 32, 247, 254, 159, 255, 255, 255, 240, 79, 0, 196, 97, 1,
        128, 238, 253, 63, 255, 255, 255, 225, 159, 0, 136, 195, 34, 0, 221, 251, 127, 254, 255, 255, 195, 63, 1,
        16, 135, 5, 0, 186, 247, 255, 145, 0, 128, 127, 2, 32, 128, 8, 0, 0,
    ];

    #[test]
    fn a_brotli_bomb_stops_at_the_limit() {
        assert_eq!(decode(BOMB.to_vec()), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
    }

    /// [`Streaming`] fed `bytes` in chunks of `size`.
    fn streamed(bytes: &[u8], size: usize) -> Result<Vec<u8>, FileProblem> {
        let mut s = Streaming::default();
        s.expect(Some(bytes.len() as u64));
        bytes.chunks(size.max(1)).for_each(|c| s.push(c));
        s.finish()
    }

    #[test]
    fn streaming_gives_what_decoding_the_whole_file_gives_at_every_chunk_size() {
        let mut trailing = LABELS_BR.to_vec();
        trailing.extend_from_slice(b"junk");
        let mut cases: Vec<Vec<u8>> = vec![
            LABELS_BR.to_vec(),
            trailing,
            gzip(&labels_raw()),
            labels_raw(),
            b"<!doctype html>".to_vec(),
            vec![],
            vec![31],
        ];
        cases.extend((2..LABELS_BR.len()).map(|cut| LABELS_BR[..cut].to_vec()));
        for bytes in &cases {
            for size in [1, 2, 3, 7, 64, 1 << 20] {
                assert_eq!(streamed(bytes, size), decode(bytes.clone()), "{bytes:?} in chunks of {size}");
            }
        }
    }

    #[test]
    fn a_streamed_brotli_bomb_stops_at_the_limit() {
        for size in [1, 16, 63] {
            assert_eq!(streamed(&BOMB, size), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
        }
    }

    /// One image (a stroke of 3x16 pixels, 205-220), packed ([`crate::data::packed`]), then
    /// Brotli quality 11 with a 16 MiB window (Python's `brotli.compress`).
    const PACKED_BR: [u8; 62] = [
        31, 179, 0, 248, 143, 148, 172, 107, 147, 8, 102, 119, 45, 73, 32, 130, 68, 106, 254, 128, 254, 42, 28,
        35, 176, 87, 142, 49, 224, 52, 135, 25, 6, 158, 64, 46, 0, 16, 56, 230, 222, 11, 42, 17, 104, 52, 0, 0,
        24, 161, 254, 8, 19, 202, 184, 144, 74, 27, 235, 252, 0, 0,
    ];

    fn stroke_idx() -> Vec<u8> {
        let mut pixels = vec![0u8; IMAGE_PIXELS];
        for r in 5..21 {
            pixels[r * 28 + 10..r * 28 + 13].fill(200 + r as u8);
        }
        crate::data::idx::encode::images(1, 28, 28, &pixels)
    }

    #[test]
    fn a_packed_image_file_decodes_to_its_idx_file_whole_and_while_it_arrives() {
        assert_eq!(decode(PACKED_BR.to_vec()).unwrap(), stroke_idx());
        for size in [1, 5, 64] {
            assert_eq!(streamed(&PACKED_BR, size).unwrap(), stroke_idx(), "in chunks of {size}");
        }
        assert_eq!(decode(gzip(&crate::data::packed::pack(&stroke_idx()))).unwrap(), stroke_idx());
    }

    #[test]
    fn a_damaged_packed_file_inside_good_brotli_says_what_is_wrong() {
        let mut packed = crate::data::packed::pack(&stroke_idx());
        packed.pop();
        assert!(matches!(decode(gzip(&packed)), Err(FileProblem::Truncated { .. })));
    }

    /// Brotli of `bytes` (quality 5: the tests need streams, not the smallest ones).
    fn brotli(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 5, lgwin: 22, ..Default::default() };
        brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
        out
    }

    /// A parts file of `bytes` cut at `cuts`, each part Brotli.
    fn in_parts(bytes: &[u8], cuts: &[usize]) -> Vec<u8> {
        let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain([bytes.len()]).collect();
        let parts: Vec<Vec<u8>> = bounds.windows(2).map(|w| brotli(&bytes[w[0]..w[1]])).collect();
        let lengths: Vec<usize> = parts.iter().map(Vec::len).collect();
        [crate::data::parts::header(&lengths), parts.concat()].concat()
    }

    /// [`Streaming`] on `threads` threads, fed `bytes` in chunks of `size`.
    fn streamed_on(threads: usize, bytes: &[u8], size: usize) -> Result<Vec<u8>, FileProblem> {
        let mut s = Streaming::on_threads(threads);
        s.expect(Some(bytes.len() as u64));
        bytes.chunks(size.max(1)).for_each(|c| s.push(c));
        s.finish()
    }

    #[test]
    fn a_file_in_parts_is_decoded_as_it_arrives_however_its_first_bytes_are_cut() {
        let file = in_parts(&crate::data::packed::pack(&stroke_idx()), &[30]);
        for first in 1..=6 {
            let mut s = Streaming::on_threads(2);
            s.push(&file[..first]);
            s.push(&file[first..first + 1]);
            s.push(&file[first + 1..]);
            assert!(matches!(s.live, Some(Live::Parts(_))), "first chunk of {first} bytes: not decoded as it arrived");
            assert_eq!(s.finish().unwrap(), stroke_idx());
        }
    }

    #[test]
    fn a_file_in_parts_decodes_whole_and_while_it_arrives_on_any_number_of_threads() {
        let packed = crate::data::packed::pack(&stroke_idx());
        for cuts in [vec![], vec![1], vec![30, 31, packed.len() - 5], vec![packed.len() / 2]] {
            let file = in_parts(&packed, &cuts);
            assert_eq!(decode(file.clone()).unwrap(), stroke_idx(), "cut at {cuts:?}");
            for threads in [0, 1, 2, 3, 8] {
                for size in [1, 3, 7, 64, 1 << 20] {
                    assert_eq!(streamed_on(threads, &file, size).unwrap(), stroke_idx(), "cut at {cuts:?}, {threads} threads, chunks of {size}");
                }
            }
        }
        // Parts of a plain IDX file (the labels) are joined the same way.
        assert_eq!(decode(in_parts(&labels_raw(), &[8, 9])).unwrap(), labels_raw());
    }

    #[test]
    fn a_damaged_file_in_parts_gives_the_same_error_whole_and_while_it_arrives() {
        let file = in_parts(&crate::data::packed::pack(&stroke_idx()), &[40, 100]);
        let mut cases: Vec<Vec<u8>> = (0..file.len()).map(|cut| file[..cut].to_vec()).collect();
        cases.push([&file[..], b"junk"].concat());
        for at in (0..file.len()).step_by(3) {
            let mut flipped = file.clone();
            flipped[at] ^= 0x5a;
            cases.push(flipped);
        }
        for bytes in &cases {
            let whole = decode(bytes.clone());
            for threads in [1, 2, 3] {
                for size in [1, 16, 1 << 20] {
                    assert_eq!(streamed_on(threads, bytes, size), whole, "{bytes:?}, {threads} threads, chunks of {size}");
                }
            }
        }
        assert_eq!(decode(file[..file.len() - 1].to_vec()), Err(FileProblem::Truncated { expected: file.len() as u64, actual: file.len() as u64 - 1 }));
        assert!(matches!(decode([&file[..], b"junk"].concat()), Err(FileProblem::TrailingBytes { extra: 4 })));
    }

    #[test]
    fn parts_that_together_inflate_past_the_limit_stop_there() {
        // Three parts of 24 MiB of zeros: each within the limit, together past it.
        let zeros = vec![0u8; 24 << 20];
        let part = brotli(&zeros);
        let file = [crate::data::parts::header(&[part.len(); 3]), part.repeat(3)].concat();
        assert_eq!(decode(file.clone()), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }));
        for threads in [1, 3] {
            assert_eq!(streamed_on(threads, &file, 4096), Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }), "{threads} threads");
        }
    }

    #[test]
    fn a_parts_file_is_never_read_as_brotli() {
        // 0x11 is the window code RFC 7932 leaves invalid: no Brotli stream starts with it.
        for rest in [&LABELS_BR[..], &[0u8; 8][..], &[0xff; 8][..]] {
            let bytes = [&crate::data::parts::MAGIC[..1], rest].concat();
            assert!(unbrotli(&bytes).is_err(), "{bytes:?}");
        }
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

    /// Not a test: the page's training images (setup's `www/data/train-images-idx3-ubyte.br`)
    /// fed in 64 KiB chunks, as a download hands them over, then decoded and unpacked, on 1, 2
    /// and 4 threads, three times each; prints ms. `cargo test --release --lib decode_timing
    /// -- --ignored --nocapture`, on an otherwise idle machine.
    #[test]
    #[ignore]
    fn decode_timing() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/train-images-idx3-ubyte.br");
        let file = std::fs::read(path).expect("run the setup first");
        for round in 0..3 {
            for threads in [1, 2, 4] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (pushed, finished, len) = pool.install(|| {
                    let start = std::time::Instant::now();
                    let mut s = Streaming::on_threads(threads);
                    s.expect(Some(file.len() as u64));
                    file.chunks(1 << 16).for_each(|c| s.push(c));
                    let pushed = start.elapsed();
                    let out = s.finish().unwrap();
                    (pushed, start.elapsed(), out.len())
                });
                println!("round {round}, {threads} threads: pushed {:.1} ms, finished {:.1} ms, {len} bytes", pushed.as_secs_f64() * 1e3, finished.as_secs_f64() * 1e3);
            }
        }
    }
}
