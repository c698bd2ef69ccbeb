//! Interned qualified names.

use crate::codec::{Decoder, Encoder};
use crate::fast_map::FastMap;
use crate::Result;

/// A name as written (`prefix:local`) with its resolved namespace URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    pub prefix: String,
    pub local: String,
    pub uri: String,
}

impl QName {
    /// The name as written in the document.
    pub fn written(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }
}

/// The names of one collection, each interned to a dense `u32` id.
#[derive(Debug, Default, Clone)]
pub struct NameTable {
    names: Vec<QName>,
    index: FastMap<QName, u32>,
    /// Written name -> (URI, id): lets ingest find a known name without allocating.
    by_written: FastMap<String, Vec<(String, u32)>>,
}

impl NameTable {
    pub fn intern(&mut self, name: QName) -> u32 {
        if let Some(&id) = self.index.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.by_written.entry(name.written()).or_default().push((name.uri.clone(), id));
        self.index.insert(name, id);
        id
    }

    /// The id of the name written `written` (`prefix:local`) with namespace `uri`,
    /// interning it if new.
    pub fn intern_written(&mut self, written: &str, uri: &str) -> u32 {
        if let Some(found) = self.by_written.get(written) {
            if let Some((_, id)) = found.iter().find(|(u, _)| u == uri) {
                return *id;
            }
        }
        let (prefix, local) = match written.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", written),
        };
        self.intern(QName { prefix: prefix.to_string(), local: local.to_string(), uri: uri.to_string() })
    }

    pub fn get(&self, id: u32) -> Option<&QName> {
        self.names.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Ids of every name with this expanded name (any prefix); `local: None` matches any.
    pub fn matching(&self, uri: &str, local: Option<&str>) -> Vec<u32> {
        self.names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.uri == uri && local.is_none_or(|l| n.local == l))
            .map(|(i, _)| i as u32)
            .collect()
    }

    pub(crate) fn encode(&self, enc: &mut Encoder) {
        enc.u32(self.names.len() as u32);
        for n in &self.names {
            enc.str(&n.prefix).str(&n.local).str(&n.uri);
        }
    }

    pub(crate) fn decode(dec: &mut Decoder<'_>) -> Result<Self> {
        let n = dec.u32()?;
        let mut res = NameTable::default();
        for _ in 0..n {
            let prefix = dec.string()?;
            let local = dec.string()?;
            let uri = dec.string()?;
            res.intern(QName { prefix, local, uri });
        }
        Ok(res)
    }
}
