//! Byte codecs for stored values and keys.
//!
//! Keys are big-endian so that byte order is numeric order. Values are written with
//! [`Encoder`] and read back with [`Decoder`], which reports truncated or malformed
//! bytes as [`Error::Corrupted`] instead of panicking.

use crate::{Error, Result};

/// The on-disk format number; bump it whenever a key layout or value encoding changes.
pub const FORMAT_VERSION: u32 = 9;

/// Upper bound of a decompressed value; a larger stated size means corruption.
const MAX_DECOMPRESSED: usize = 1 << 31;

/// LZ4-compresses `raw`, with its length in front.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(raw)
}

/// The decompressed size a stored value states in front.
fn stated_size(stored: &[u8], area: &'static str) -> Result<usize> {
    let size = stored
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| Error::corrupted(area, "value is truncated"))?;
    if size > MAX_DECOMPRESSED {
        return Err(Error::corrupted(area, format!("implausible size {size}")));
    }
    Ok(size)
}

/// Reverses [`compress`]; a bad or implausible value is [`Error::Corrupted`].
pub fn decompress(stored: &[u8], area: &'static str) -> Result<Vec<u8>> {
    stated_size(stored, area)?;
    lz4_flex::decompress_size_prepended(stored).map_err(|e| Error::corrupted(area, e))
}

/// zstd's level for [`compress_dense`]: its fastest, which still stores XML text in
/// about two thirds of LZ4's bytes.
const ZSTD_LEVEL: i32 = 1;

thread_local! {
    /// One zstd context per thread: making one costs more than compressing a chunk.
    static ZSTD_COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static ZSTD_DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd-compresses `raw`, with its length in front: for values that are mostly text
/// (XML node chunks), where it saves a third of LZ4's size for a slower read.
pub fn compress_dense(raw: &[u8]) -> Result<Vec<u8>> {
    let body = ZSTD_COMPRESSOR.with(|cell| -> std::io::Result<Vec<u8>> {
        let mut slot = cell.borrow_mut();
        let compressor = match &mut *slot {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
        };
        compressor.compress(raw)
    })?;
    let size = u32::try_from(raw.len()).map_err(|_| Error::corrupted("codec", "a value of 4 GiB or more"))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reverses [`compress_dense`]; a bad or implausible value is [`Error::Corrupted`].
pub fn decompress_dense(stored: &[u8], area: &'static str) -> Result<Vec<u8>> {
    let size = stated_size(stored, area)?;
    let raw = ZSTD_DECOMPRESSOR
        .with(|cell| -> std::io::Result<Vec<u8>> {
            let mut slot = cell.borrow_mut();
            let decompressor = match &mut *slot {
                Some(d) => d,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress(&stored[4..], size)
        })
        .map_err(|e| Error::corrupted(area, e))?;
    if raw.len() != size {
        return Err(Error::corrupted(area, "value is shorter than it states"));
    }
    Ok(raw)
}

/// Appends little-endian fields to a byte vector.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    /// An unsigned LEB128 varint: small numbers in one byte.
    pub fn var(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads what [`Encoder`] wrote.
#[derive(Debug)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    area: &'static str,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8], area: &'static str) -> Self {
        Decoder { buf, area }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(Error::corrupted(self.area, "value is truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|e| Error::corrupted(self.area, e))
    }
    /// What [`Encoder::var`] wrote.
    pub fn var(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(v);
            }
        }
        Err(Error::corrupted(self.area, "bad varint"))
    }
    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// Builds a key from big-endian parts.
#[derive(Debug, Default)]
pub struct KeyBuilder {
    buf: Vec<u8>,
}

impl KeyBuilder {
    pub fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(mut self, v: &[u8]) -> Self {
        self.buf.extend_from_slice(v);
        self
    }
    pub fn build(self) -> Vec<u8> {
        self.buf
    }
}
