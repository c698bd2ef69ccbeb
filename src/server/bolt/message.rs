//! Bolt's messages: what a client sends, read from a PackStream structure by its
//! tag, and the four replies (SUCCESS, RECORD, IGNORED, FAILURE).

use super::framing;
use super::packstream::{self, Value};

/// A client's message.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Hello { extra: Value },
    Goodbye,
    Reset,
    Run { query: String, parameters: Value, extra: Value },
    Begin { extra: Value },
    Commit,
    Rollback,
    Discard { n: i64, qid: i64 },
    Pull { n: i64, qid: i64 },
    Telemetry,
    Route { db: Option<String> },
    Logon { auth: Value },
    Logoff,
}

impl Request {
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "HELLO",
            Request::Goodbye => "GOODBYE",
            Request::Reset => "RESET",
            Request::Run { .. } => "RUN",
            Request::Begin { .. } => "BEGIN",
            Request::Commit => "COMMIT",
            Request::Rollback => "ROLLBACK",
            Request::Discard { .. } => "DISCARD",
            Request::Pull { .. } => "PULL",
            Request::Telemetry => "TELEMETRY",
            Request::Route { .. } => "ROUTE",
            Request::Logon { .. } => "LOGON",
            Request::Logoff => "LOGOFF",
        }
    }
}

fn map_field(fields: &[Value], at: usize, what: &str) -> Result<Value, String> {
    match fields.get(at) {
        Some(v @ Value::Map(_)) => Ok(v.clone()),
        None => Ok(Value::Map(Vec::new())),
        Some(_) => Err(format!("{what} must be a map")),
    }
}

/// `n` and `qid` of PULL and DISCARD (`n` -1 is every row; `qid` -1 the last result).
fn pull_extra(fields: &[Value]) -> Result<(i64, i64), String> {
    let extra = map_field(fields, 0, "PULL's extra")?;
    let n = match extra.get("n") {
        None => -1,
        Some(Value::Int(n)) if *n == -1 || *n > 0 => *n,
        Some(_) => return Err("n must be -1 or a positive integer".into()),
    };
    let qid = match extra.get("qid") {
        None => -1,
        Some(Value::Int(q)) if *q >= -1 => *q,
        Some(_) => return Err("qid must be an integer of -1 or more".into()),
    };
    Ok((n, qid))
}

/// Reads one message; the error says what is wrong with it.
pub fn parse(bytes: &[u8]) -> Result<Request, String> {
    let value = packstream::decode(bytes).map_err(|e| format!("malformed message: {e}"))?;
    let Value::Struct(tag, fields) = value else { return Err("a message must be a structure".into()) };
    let request = match tag {
        0x01 => Request::Hello { extra: map_field(&fields, 0, "HELLO's extra")? },
        0x02 => Request::Goodbye,
        0x0F => Request::Reset,
        0x10 => {
            let Some(Value::String(query)) = fields.first() else { return Err("RUN needs a query string".into()) };
            Request::Run {
                query: query.clone(),
                parameters: map_field(&fields, 1, "RUN's parameters")?,
                extra: map_field(&fields, 2, "RUN's extra")?,
            }
        }
        0x11 => Request::Begin { extra: map_field(&fields, 0, "BEGIN's extra")? },
        0x12 => Request::Commit,
        0x13 => Request::Rollback,
        0x2F => {
            let (n, qid) = pull_extra(&fields)?;
            Request::Discard { n, qid }
        }
        0x3F => {
            let (n, qid) = pull_extra(&fields)?;
            Request::Pull { n, qid }
        }
        0x54 => Request::Telemetry,
        0x66 => {
            // 4.4 and later: routing, bookmarks, {db, imp_user}; 4.3: routing, bookmarks, db.
            let db = match fields.get(2) {
                Some(Value::String(db)) => Some(db.clone()),
                Some(extra @ Value::Map(_)) => extra.get("db").and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            Request::Route { db }
        }
        0x6A => Request::Logon { auth: map_field(&fields, 0, "LOGON's auth")? },
        0x6B => Request::Logoff,
        other => return Err(format!("unknown message 0x{other:02X}")),
    };
    Ok(request)
}

/// A server's reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Success(Value),
    Record(Vec<Value>),
    Ignored,
    Failure(Value),
}

impl Reply {
    pub fn success<'k>(metadata: impl IntoIterator<Item = (&'k str, Value)>) -> Reply {
        Reply::Success(Value::Map(metadata.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    pub fn failure(code: &str, message: &str) -> Reply {
        Reply::Failure(Value::map([("code", Value::string(code)), ("message", Value::string(message))]))
    }

    /// Appends the reply, in chunks, to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut message = Vec::new();
        let (tag, field) = match self {
            Reply::Success(meta) => (0x70, Some(meta)),
            Reply::Record(_) => (0x71, None),
            Reply::Ignored => (0x7E, None),
            Reply::Failure(meta) => (0x7F, Some(meta)),
        };
        let arity = u8::from(!matches!(self, Reply::Ignored));
        message.extend_from_slice(&[0xB0 | arity, tag]);
        match (self, field) {
            (Reply::Record(fields), _) => packstream::encode_list(fields, &mut message),
            (_, Some(meta)) => packstream::encode(meta, &mut message),
            _ => {}
        }
        framing::chunk(&message, out);
    }
}
