//! Request bodies that stream into sprig's blocking loaders: the async side sends
//! each chunk as it arrives ([`feed`]) and the loader reads them through
//! [`BodyReader`] on the blocking pool, so a body is never held whole.

use std::io::Read;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Chunks in flight between the network and the loader.
const CHUNKS_IN_FLIGHT: usize = 8;

pub type ChunkSender = mpsc::Sender<Result<Bytes, String>>;

/// A sender for [`feed`] and the reader the loader reads it through.
pub fn channel() -> (ChunkSender, BodyReader) {
    let (send, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
    (send, BodyReader { chunks, current: Bytes::new() })
}

/// Sends `body`'s chunks on, until it ends, breaks (the reader then fails with the
/// error), or the reader stops reading (its load failed).
pub async fn feed<E: std::fmt::Display>(body: impl Stream<Item = Result<Bytes, E>>, send: ChunkSender) {
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string());
        let broke = chunk.is_err();
        if send.send(chunk).await.is_err() || broke {
            break;
        }
    }
}

/// A blocking reader over a body that arrives on the async side.
pub struct BodyReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(format!("the request body broke off: {e}"))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}
