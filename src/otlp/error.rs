//! What a payload may cost ([`Limits`]) and how decoding fails
//! ([`DecodeError`]).

use std::fmt;

use super::Signal;

/// Bounds on what one payload may cost. Exceeding one is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload [`decode`] accepts, and largest size
    /// [`maybe_gunzip`] inflates to. Default 64 MiB.
    pub max_payload_bytes: usize,
    /// Deepest nesting of `AnyValue`s (an attribute value is at depth 1, an
    /// element of an array value at depth 2, ...). Default 32; values above
    /// 128 act as 128, as the decoders recurse once per level (128 levels
    /// take about 1 MiB of stack in a debug build, far less in release).
    pub max_depth: usize,
    /// Most attributes of one resource, scope, span, span event, span
    /// link, data point or log record, counted over all its `attributes`
    /// lists (a protobuf resource or scope sent in several parts, a JSON
    /// object repeating `attributes`). Default 4096.
    pub max_attributes_per_record: usize,
    /// Most events in the output of one payload, counting also the values
    /// nested in arrays and kvlists. Bounds memory: a hostile payload can
    /// pack an event into two bytes, and an event takes about 100 bytes.
    /// Default 8 million (below 1 GiB of events).
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 64 << 20,
            max_depth: 32,
            max_attributes_per_record: 4096,
            max_events: 8_000_000,
        }
    }
}

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid OTLP/JSON, or a limit was hit while decoding it.
    Json,
    /// Not valid OTLP/protobuf of the given signal, or a limit was hit.
    Protobuf(Signal),
    /// Invalid gzip data, or it inflates past `max_payload_bytes`.
    Gzip,
    /// The payload is larger than `max_payload_bytes`.
    TooLarge,
}

/// Where an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    None,
    /// Byte offset into the protobuf payload.
    Offset(usize),
    /// In a JSON payload: 1-based line and column (in bytes), and the
    /// 1-based index of the request (JSON document) among those of the
    /// payload, 0 for invalid UTF-8 (checked for the whole payload first).
    /// For JSON Lines the line is the line of the file.
    Text {
        line: usize,
        column: usize,
        document: usize,
    },
}

/// A payload that could not be decoded. Displays as, for instance,
/// `invalid OTLP/JSON at line 1 column 57 (resourceSpans[0].scopeSpans[1]
/// .spans[3].kind): invalid type: boolean ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    message: String,
    position: Position,
    path: String,
}

impl DecodeError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
            position: Position::None,
            path: String::new(),
        }
    }

    pub(crate) fn at(mut self, position: Position, path: String) -> Self {
        self.position = position;
        self.path = path;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without position or path.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn position(&self) -> Position {
        self.position
    }

    /// Where in the request, in OTLP/JSON field names:
    /// `resourceSpans[0].scopeSpans[1].spans[3].attributes[2].value`; empty
    /// when unknown or at the top.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Json => f.write_str("invalid OTLP/JSON")?,
            ErrorKind::Protobuf(s) => write!(f, "invalid OTLP/protobuf {s} request")?,
            ErrorKind::Gzip => f.write_str("invalid gzip payload")?,
            ErrorKind::TooLarge => f.write_str("OTLP payload too large")?,
        }
        match self.position {
            Position::None => {}
            Position::Offset(o) => write!(f, " at byte {o}")?,
            Position::Text { line, column, .. } => write!(f, " at line {line} column {column}")?,
        }
        if !self.path.is_empty() {
            write!(f, " ({})", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DecodeError {}
