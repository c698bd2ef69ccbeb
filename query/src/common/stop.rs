//! When a running query must stop: its deadline has passed or its interrupt flag
//! (Ctrl-C in the shell) is set. Both languages check through this one type; how
//! often is theirs to choose (Cypher every 1,024 units of work, XPath at every step).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::{Error, Result};

/// A query's deadline and interrupt flag.
#[derive(Debug, Clone, Default)]
pub struct StopCheck {
    pub deadline: Option<Instant>,
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl StopCheck {
    /// [`Error::Interrupted`] once the flag is set, [`Error::Timeout`] once the deadline
    /// has passed; the flag wins when both hold.
    pub fn check(&self) -> Result<()> {
        if self.interrupt.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Error::Timeout),
            _ => Ok(()),
        }
    }
}
