//! A buffered reader that knows the line and column of recent byte offsets, so that
//! XML errors can say where they are without keeping the document in memory.

use std::collections::VecDeque;
use std::io::{BufRead, Read};

const BUFFER: usize = 256 * 1024;
const REMEMBERED_NEWLINES: usize = 1 << 16;

/// Wraps a reader; counts newlines in the bytes the parser consumed.
#[derive(Debug)]
pub struct PositionReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    consumed: u64,
    newlines: u64,
    /// Offsets of the most recent newlines, oldest first.
    recent: VecDeque<u64>,
}

impl<R: Read> PositionReader<R> {
    pub fn new(inner: R) -> Self {
        PositionReader {
            inner,
            buf: vec![0; BUFFER],
            pos: 0,
            filled: 0,
            consumed: 0,
            newlines: 0,
            recent: VecDeque::new(),
        }
    }

    /// 1-based line and column of byte `offset`, which should lie near the bytes
    /// consumed so far.
    pub fn line_column(&self, offset: u64) -> (u64, u64) {
        let after = self.recent.iter().rev().take_while(|&&nl| nl >= offset).count() as u64;
        let line = self.newlines.saturating_sub(after) + 1;
        let last_nl = self.recent.iter().rev().find(|&&nl| nl < offset);
        let column = match last_nl {
            Some(&nl) => offset - nl,
            None => offset + 1,
        };
        (line, column)
    }
}

impl<R: Read> Read for PositionReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for PositionReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        let end = (self.pos + amt).min(self.filled);
        for i in memchr::memchr_iter(b'\n', &self.buf[self.pos..end]) {
            self.newlines += 1;
            if self.recent.len() == REMEMBERED_NEWLINES {
                self.recent.pop_front();
            }
            self.recent.push_back(self.consumed + i as u64);
        }
        self.consumed += (end - self.pos) as u64;
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let mut r = PositionReader::new("ab\ncd\nef".as_bytes());
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(r.line_column(0), (1, 1));
        assert_eq!(r.line_column(4), (2, 2));
        assert_eq!(r.line_column(7), (3, 2));
    }
}
