//! The value index is built on a thread of its own during a load: the parser only
//! copies each value into a batch, and the builder's hashing, bitmaps and spilling
//! run beside it. (In the profile of an XMark load, building the index in place
//! was a fifth of the parser thread's time.)

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use super::value_index::{xpath_number, ValueIndexBuilder, ValueOwner, MAX_INDEXED_VALUE};
use crate::{Error, Result};

/// A batch is sent once it holds this many values or bytes.
const BATCH_VALUES: usize = 8192;
const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for the builder at most (a bound on the memory they take).
const BATCHES_IN_FLIGHT: usize = 2;

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// A value: `len` bytes of the batch's bytes, following the previous value's.
    Value { owner: ValueOwner, name: u32, pre: u32, len: u32 },
    /// Only the number of a value too long to index as a string.
    Number { owner: ValueOwner, name: u32, pre: u32, n: f64 },
    /// An element of `name` whose value is not indexed (mixed content).
    Skip { name: u32 },
}

#[derive(Debug, Default)]
struct Batch {
    entries: Vec<Entry>,
    bytes: Vec<u8>,
}

impl Batch {
    fn apply(self, builder: &mut ValueIndexBuilder) -> Result<()> {
        let mut at = 0usize;
        for entry in self.entries {
            match entry {
                Entry::Value { owner, name, pre, len } => {
                    let bytes = self.bytes.get(at..at + len as usize).unwrap_or_default();
                    at += len as usize;
                    // The bytes were a `str`; a split is never inside a character.
                    let value = std::str::from_utf8(bytes).map_err(|e| Error::corrupted("value index", e))?;
                    builder.add(owner, name, value, pre);
                }
                Entry::Number { owner, name, pre, n } => builder.add_number(owner, name, n, pre),
                Entry::Skip { name } => builder.skip_element(name),
            }
        }
        builder.flush_if_full()
    }
}

/// The parser's end of the value index of one document.
#[derive(Debug)]
pub(crate) struct ValueFeed {
    batch: Batch,
    /// `None` once the builder stopped (its error comes out of `finish`).
    sender: Option<SyncSender<Batch>>,
    builder: Option<JoinHandle<Result<ValueIndexBuilder>>>,
}

impl ValueFeed {
    /// Starts the builder thread.
    pub(crate) fn start() -> Result<Self> {
        let (sender, batches) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let builder = std::thread::Builder::new().name("value-index".into()).spawn(move || {
            let mut builder = ValueIndexBuilder::default();
            for batch in batches {
                batch.apply(&mut builder)?;
            }
            Ok(builder)
        })?;
        Ok(ValueFeed { batch: Batch::default(), sender: Some(sender), builder: Some(builder) })
    }

    fn push(&mut self, entry: Entry) {
        self.batch.entries.push(entry);
        if self.batch.entries.len() >= BATCH_VALUES || self.batch.bytes.len() >= BATCH_BYTES {
            self.send();
        }
    }

    fn send(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        if let Some(sender) = &self.sender {
            if sender.send(batch).is_err() {
                self.sender = None;
            }
        }
    }

    /// As [`ValueIndexBuilder::add`].
    pub(crate) fn add(&mut self, owner: ValueOwner, name: u32, value: &str, pre: u32) {
        // A value too long to index as a string is indexed by its number only:
        // no need to copy it.
        let len = match u32::try_from(value.len()) {
            Ok(len) if value.len() <= MAX_INDEXED_VALUE => len,
            _ => return self.push(Entry::Number { owner, name, pre, n: xpath_number(value) }),
        };
        self.batch.bytes.extend_from_slice(value.as_bytes());
        self.push(Entry::Value { owner, name, pre, len });
    }

    /// As [`ValueIndexBuilder::add_number`].
    pub(crate) fn add_number(&mut self, owner: ValueOwner, name: u32, n: f64, pre: u32) {
        self.push(Entry::Number { owner, name, pre, n });
    }

    /// As [`ValueIndexBuilder::skip_element`].
    pub(crate) fn skip_element(&mut self, name: u32) {
        self.push(Entry::Skip { name });
    }

    /// Everything sent: the builder, with the whole document's values.
    pub(crate) fn finish(mut self) -> Result<ValueIndexBuilder> {
        self.send();
        self.sender = None;
        let builder = self.builder.take().ok_or_else(|| Error::corrupted("value index", "finished twice"))?;
        builder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
