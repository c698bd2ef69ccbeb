//! Bolt's byte level: the handshake that picks a protocol version, and messages
//! cut into chunks (a 16-bit size, the bytes, and a zero size to end a message).

use std::io::{self, Read, Write};

/// What a Bolt connection begins with.
const MAGIC: [u8; 4] = [0x60, 0x60, 0xB0, 0x17];

/// The versions sprig speaks, newest first: (major, minor).
pub const VERSIONS: [(u8, u8); 6] = [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0), (4, 4)];

/// A protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub fn at_least(self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The version to speak for a client's four proposals, each `[0, range, minor,
/// major]`: minors from `minor` down to `minor - range` of `major`. The first
/// proposal that names a version sprig speaks wins, at its newest such version; a
/// manifest offer (major 0xFF) is passed over, as the proposals after it say the same.
pub fn choose(proposals: &[[u8; 4]; 4]) -> Option<Version> {
    for &[_, range, minor, major] in proposals {
        if major == 0 || major == 0xFF {
            continue;
        }
        let lowest = minor.saturating_sub(range);
        if let Some(&(major, minor)) = VERSIONS.iter().find(|(m, n)| *m == major && (lowest..=minor).contains(n)) {
            return Some(Version { major, minor });
        }
    }
    None
}

/// Why a handshake ended without a version.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("not a Bolt client (the connection did not begin with 60 60 B0 17)")]
    NotBolt,
    #[error("no version in common (sprig speaks Bolt 4.4 and 5.0 to 5.4)")]
    NoVersion,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads the magic and the proposals and answers with the chosen version (or
/// zeros, when there is none in common).
pub fn handshake(stream: &mut (impl Read + Write)) -> Result<Version, HandshakeError> {
    let mut opening = [0u8; 20];
    stream.read_exact(&mut opening)?;
    if opening[..4] != MAGIC {
        return Err(HandshakeError::NotBolt);
    }
    let mut proposals = [[0u8; 4]; 4];
    for (i, p) in proposals.iter_mut().enumerate() {
        p.copy_from_slice(&opening[4 + 4 * i..8 + 4 * i]);
    }
    let chosen = choose(&proposals);
    let answer = chosen.map_or([0; 4], |v| [0, 0, v.minor, v.major]);
    stream.write_all(&answer)?;
    stream.flush()?;
    chosen.ok_or(HandshakeError::NoVersion)
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("a message is longer than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one message's chunks, skipping the empty NOOP chunks a client may send to
/// keep a connection alive; refuses a message longer than `max` bytes before
/// reading past it.
pub fn read_message(stream: &mut impl Read, max: usize) -> Result<Vec<u8>, ReadError> {
    let mut message = Vec::new();
    loop {
        let mut size = [0u8; 2];
        stream.read_exact(&mut size)?;
        let size = usize::from(u16::from_be_bytes(size));
        if size == 0 {
            if message.is_empty() {
                continue; // a NOOP between messages
            }
            return Ok(message);
        }
        if message.len() + size > max {
            return Err(ReadError::TooLarge(max));
        }
        let start = message.len();
        message.resize(start + size, 0);
        stream.read_exact(&mut message[start..])?;
    }
}

/// Appends `message` cut into chunks to `out`.
pub fn chunk(message: &[u8], out: &mut Vec<u8>) {
    for piece in message.chunks(0xFFFF) {
        out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_common_version_of_the_first_fitting_proposal_is_chosen() {
        let v = |major, minor| Some(Version { major, minor });
        // What the 5.x drivers send: a manifest offer, 5.8 down to 5.0, 4.4 down to 4.2.
        assert_eq!(choose(&[[0, 0, 1, 0xFF], [0, 8, 8, 5], [0, 2, 4, 4], [0; 4]]), v(5, 4));
        assert_eq!(choose(&[[0, 0, 2, 5], [0, 0, 4, 4], [0; 4], [0; 4]]), v(5, 2));
        assert_eq!(choose(&[[0, 0, 8, 5], [0, 2, 4, 4], [0; 4], [0; 4]]), v(4, 4));
        assert_eq!(choose(&[[0, 0, 3, 4], [0, 0, 0, 3], [0; 4], [0; 4]]), None);
        assert_eq!(choose(&[[0, 3, 7, 5], [0; 4], [0; 4], [0; 4]]), v(5, 4));
    }

    #[test]
    fn messages_go_out_in_chunks_and_come_back_whole() {
        let message: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut wire = vec![0, 0, 0, 0]; // NOOPs first
        chunk(&message, &mut wire);
        assert_eq!(wire.len(), 4 + message.len() + 2 * 4 + 2);
        let mut reader = &wire[..];
        assert_eq!(read_message(&mut reader, 1 << 20).expect("read"), message);
        let mut reader = &wire[..];
        assert!(matches!(read_message(&mut reader, 100_000), Err(ReadError::TooLarge(100_000))));
        let mut truncated = &wire[..1000];
        assert!(matches!(read_message(&mut truncated, 1 << 20), Err(ReadError::Io(_))));
    }
}
