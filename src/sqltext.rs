//! What an SQL text does to a table, read from its tokens: which database
//! it names before the table (`aux.otlp_ingest`) and whether it deletes
//! from or updates it.
//!
//! SQLite resolves an eponymous virtual table in the main database whatever
//! schema the statement names (`INSERT INTO aux.otlp_ingest` reaches the
//! same table as `INSERT INTO otlp_ingest`, and xConnect is told "main"),
//! and a DELETE or UPDATE of a table without rows never reaches xUpdate, so
//! the write-only tables cannot learn either from SQLite. They read it from
//! the text of the running statements instead.

/// The schema names written before `table` in `sql` (`x.table`, with any
/// quoting SQLite accepts, comments and spaces around the dot), in order.
/// String literals and comments are skipped.
pub fn qualifiers(sql: &str, table: &str) -> Vec<String> {
    let toks = tokens(sql);
    let mut out = Vec::new();
    for w in toks.windows(3) {
        if let [Tok::Ident(schema), Tok::Dot, Tok::Ident(name)] = w
            && name.eq_ignore_ascii_case(table)
        {
            out.push(schema.clone());
        }
    }
    out
}

/// `Some("DELETE")` or `Some("UPDATE")` when `sql` deletes from or updates
/// `table` (optionally schema-qualified), else `None`.
pub fn modifies(sql: &str, table: &str) -> Option<&'static str> {
    let toks = tokens(sql);
    let is = |t: &Tok, w: &str| matches!(t, Tok::Ident(s) if s.eq_ignore_ascii_case(w));
    for (i, t) in toks.iter().enumerate() {
        let (verb, mut j) = if is(t, "DELETE") && toks.get(i + 1).is_some_and(|n| is(n, "FROM")) {
            ("DELETE", i + 2)
        } else if is(t, "UPDATE") {
            let mut j = i + 1;
            // UPDATE OR ROLLBACK|ABORT|REPLACE|FAIL|IGNORE
            if toks.get(j).is_some_and(|n| is(n, "OR")) {
                j += 2;
            }
            ("UPDATE", j)
        } else {
            continue;
        };
        // [schema .] table
        if toks.get(j + 1) == Some(&Tok::Dot) {
            j += 2;
        }
        if toks.get(j).is_some_and(|n| is(n, table)) {
            return Some(verb);
        }
    }
    None
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Dot,
    Other,
}

fn quoted(b: &[u8], i: &mut usize, close: u8, doubled: bool) -> String {
    let mut s = Vec::new();
    *i += 1;
    while *i < b.len() {
        if b[*i] == close {
            if doubled && b.get(*i + 1) == Some(&close) {
                s.push(close);
                *i += 2;
                continue;
            }
            *i += 1;
            break;
        }
        s.push(b[*i]);
        *i += 1;
    }
    String::from_utf8_lossy(&s).into_owned()
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
            }
            b'\'' => {
                quoted(b, &mut i, b'\'', true);
                out.push(Tok::Other);
            }
            b'"' => out.push(Tok::Ident(quoted(b, &mut i, b'"', true))),
            b'`' => out.push(Tok::Ident(quoted(b, &mut i, b'`', true))),
            b'[' => out.push(Tok::Ident(quoted(b, &mut i, b']', false))),
            b'.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i] == b'_'
                        || b[i] == b'$'
                        || b[i].is_ascii_alphanumeric()
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push(Tok::Ident(sql[start..i].to_string()));
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{modifies, qualifiers};

    #[test]
    fn finds_deletes_and_updates_of_the_table() {
        let m = |s: &str| modifies(s, "otlp_ingest");
        assert_eq!(m("DELETE FROM otlp_ingest"), Some("DELETE"));
        assert_eq!(
            m("delete from main.\"OTLP_INGEST\" where 1"),
            Some("DELETE")
        );
        assert_eq!(m("UPDATE otlp_ingest SET signal = 'x'"), Some("UPDATE"));
        assert_eq!(
            m("UPDATE OR REPLACE aux.otlp_ingest SET signal = 1"),
            Some("UPDATE")
        );
        assert_eq!(
            m("WITH a AS (SELECT 1) DELETE FROM otlp_ingest"),
            Some("DELETE")
        );
        assert_eq!(m("SELECT * FROM otlp_ingest"), None);
        assert_eq!(
            m("DELETE FROM t WHERE x IN (SELECT 1 FROM otlp_ingest)"),
            None
        );
        assert_eq!(
            m("INSERT INTO otlp_ingest VALUES ('DELETE FROM otlp_ingest')"),
            None
        );
        assert_eq!(
            m("UPDATE t SET a = (SELECT count(*) FROM otlp_ingest)"),
            None
        );
    }

    #[test]
    fn finds_every_quoting_and_skips_literals_and_comments() {
        let q = |s: &str| qualifiers(s, "otlp_ingest");
        assert_eq!(
            q("INSERT INTO otlp_ingest(payload) VALUES (?)"),
            Vec::<String>::new()
        );
        assert_eq!(q("INSERT INTO main.otlp_ingest VALUES (?)"), ["main"]);
        assert_eq!(q("insert into AUX . OTLP_INGEST values (?)"), ["AUX"]);
        assert_eq!(
            q("INSERT INTO \"my db\".\"otlp_ingest\" VALUES (?)"),
            ["my db"]
        );
        assert_eq!(q("INSERT INTO [x].otlp_ingest VALUES (?)"), ["x"]);
        assert_eq!(q("INSERT INTO `a``b`./*c*/otlp_ingest VALUES (?)"), ["a`b"]);
        assert_eq!(
            q("INSERT INTO otlp_ingest VALUES ('aux.otlp_ingest')"),
            Vec::<String>::new()
        );
        assert_eq!(
            q("INSERT INTO otlp_ingest -- aux.otlp_ingest\n VALUES (1)"),
            Vec::<String>::new()
        );
        assert_eq!(q("SELECT x.otlp_ingest_other FROM t"), Vec::<String>::new());
        assert_eq!(q("INSERT INTO \"a\"\"b\".otlp_ingest VALUES (1)"), ["a\"b"]);
    }
}
