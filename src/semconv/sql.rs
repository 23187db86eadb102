//! The semantic conventions in SQL: read-only eponymous tables over the
//! embedded release and two lookup functions. Everything here reads only
//! constant data: the functions are deterministic and innocuous, the tables
//! innocuous, so views of a catalog may use them with `trusted_schema = OFF`.

use std::ffi::c_int;

use super::{Registry, registry};
use crate::ffi::{self, Arg, Ctx, Db, Error, Kind, Result, TableFunction, bail};

fn reg(what: &str) -> Result<&'static Registry> {
    registry().map_err(|e| Error::new(format!("{what}: {e}")))
}

fn opt_text(ctx: Ctx, v: Option<&str>) -> Result<()> {
    match v {
        Some(s) => ctx.text(s),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

/// A key argument: `None` for NULL, an error for anything but text.
fn key_arg<'a>(func: &str, pos: usize, a: Arg<'a>) -> Result<Option<&'a str>> {
    match a.kind() {
        Kind::Null => Ok(None),
        Kind::Text => a.str(func, pos).map(Some),
        k => bail!(
            "{func}: argument {pos} (key) must be TEXT or NULL, got {}",
            k.name()
        ),
    }
}

/// `semconv_attribute(key)`: the name of the convention attribute that
/// defines `key` (itself, or the template it is a key of), else NULL.
fn semconv_attribute(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let name = "semconv_attribute";
    let Some(key) = key_arg(name, 1, args[0])? else {
        ctx.null();
        return Ok(());
    };
    let r = reg(name)?;
    match r.defining(key) {
        Some(i) => ctx.text(&r.attributes[i].name),
        None => {
            ctx.null();
            Ok(())
        }
    }
}

const MAX_NEAREST: i64 = 100;

/// `semconv_nearest(key [, n])`: a JSON array of the (up to `n`, default 3)
/// convention attribute names nearest to `key`, nearest first.
fn semconv_nearest(ctx: Ctx, args: &[Arg]) -> Result<()> {
    let name = "semconv_nearest";
    let n = match args.get(1) {
        None => 3,
        Some(a) if a.kind() == Kind::Integer && (1..=MAX_NEAREST).contains(&a.i64()) => {
            a.i64() as usize
        }
        Some(a) if a.kind() == Kind::Integer => bail!(
            "{name}: argument 2 (n) must be from 1 to {MAX_NEAREST}, got {}",
            a.i64()
        ),
        Some(a) => bail!(
            "{name}: argument 2 (n) must be an integer from 1 to {MAX_NEAREST}, got {}",
            a.kind().name()
        ),
    };
    let Some(key) = key_arg(name, 1, args[0])? else {
        ctx.null();
        return Ok(());
    };
    let r = reg(name)?;
    let names: Vec<&str> = r.nearest(key, n).into_iter().map(|(s, _)| s).collect();
    let json = serde_json::to_string(&names).map_err(|e| Error::new(format!("{name}: {e}")))?;
    ctx.text(&json)
}

/// The text a lookup column must equal: `Ok(None)` for no constraint or a
/// non-text one (every row may match; SQLite compares), `Err(())` for NULL
/// or bytes no name has (no row matches).
fn lookup<'a>(l: Option<Arg<'a>>) -> std::result::Result<Option<&'a str>, ()> {
    match l {
        None => Ok(None),
        Some(a) => match a.kind() {
            Kind::Null => Err(()),
            Kind::Text => std::str::from_utf8(a.text_bytes())
                .map(Some)
                .map_err(|_| ()),
            _ => Ok(None),
        },
    }
}

fn version(ctx: Ctx, r: &Registry) -> Result<()> {
    ctx.text(&r.version)
}

// ---------------------------------------------------------------------------
// semconv_attributes

struct AttributesTable(&'static Registry);

impl TableFunction for AttributesTable {
    type Aux = ();
    type Row = usize;
    const NAME: &'static str = "semconv_attributes";
    const SCHEMA: &'static str = "CREATE TABLE x(name TEXT, type TEXT, template INTEGER, \
        enum_members TEXT, stability TEXT, deprecated INTEGER, deprecated_reason TEXT, \
        replacement TEXT, deprecated_note TEXT, brief TEXT, namespace TEXT, semconv_version TEXT)";
    const FIRST_ARG: c_int = 12;
    /// name, replacement, namespace
    const LOOKUP: &'static [c_int] = &[0, 7, 10];
    const INNOCUOUS: bool = true;

    fn connect(_db: Db, _aux: &()) -> Result<Self> {
        Ok(AttributesTable(reg(Self::NAME)?))
    }

    fn rows(&self, _args: &[Option<Arg>]) -> Result<Vec<usize>> {
        Ok((0..self.0.attributes.len()).collect())
    }

    fn lookup_rows(&self, args: &[Option<Arg>], lookups: &[Option<Arg>]) -> Result<Vec<usize>> {
        let (Ok(name), Ok(replacement), Ok(ns)) =
            (lookup(lookups[0]), lookup(lookups[1]), lookup(lookups[2]))
        else {
            return Ok(Vec::new());
        };
        let r = self.0;
        let rows: Vec<usize> = match (name, replacement, ns) {
            (Some(n), _, _) => r.attribute(n).into_iter().collect(),
            (None, Some(to), _) => r.replaced_by(to),
            (None, None, Some(ns)) => {
                let (exact, range) = r.in_namespace(ns);
                exact.into_iter().chain(range).collect()
            }
            (None, None, None) => self.rows(args)?,
        };
        // Every constraint given holds for every row returned.
        Ok(rows
            .into_iter()
            .filter(|&i| {
                let a = &r.attributes[i];
                replacement.is_none_or(|to| a.replacement.as_deref() == Some(to))
                    && ns.is_none_or(|ns| a.namespace() == ns)
            })
            .collect())
    }

    fn column(&i: &usize, ctx: Ctx, col: c_int) -> Result<()> {
        let r = registry().map_err(Error::new)?;
        let a = &r.attributes[i];
        match col {
            0 => ctx.text(&a.name)?,
            1 => ctx.text(&a.typ)?,
            2 => ctx.i64(a.template as i64),
            3 => opt_text(ctx, a.enum_members.as_deref())?,
            4 => opt_text(ctx, a.stability.as_deref())?,
            5 => ctx.i64(a.deprecated() as i64),
            6 => opt_text(ctx, a.deprecated_reason.as_deref())?,
            7 => opt_text(ctx, a.replacement.as_deref())?,
            8 => opt_text(ctx, a.deprecated_note.as_deref())?,
            9 => opt_text(ctx, a.brief.as_deref())?,
            10 => ctx.text(a.namespace())?,
            11 => version(ctx, r)?,
            _ => ctx.null(),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// semconv_metrics

struct MetricsTable(&'static Registry);

impl TableFunction for MetricsTable {
    type Aux = ();
    /// Position in `Registry::metrics`.
    type Row = usize;
    const NAME: &'static str = "semconv_metrics";
    const SCHEMA: &'static str = "CREATE TABLE x(name TEXT, instrument TEXT, unit TEXT, \
        stability TEXT, deprecated INTEGER, deprecated_reason TEXT, replacement TEXT, \
        deprecated_note TEXT, brief TEXT, attributes TEXT, group_id TEXT, semconv_version TEXT)";
    const FIRST_ARG: c_int = 12;
    const LOOKUP: &'static [c_int] = &[0];
    const INNOCUOUS: bool = true;

    fn connect(_db: Db, _aux: &()) -> Result<Self> {
        Ok(MetricsTable(reg(Self::NAME)?))
    }

    fn rows(&self, _args: &[Option<Arg>]) -> Result<Vec<usize>> {
        Ok((0..self.0.metrics.len()).collect())
    }

    fn lookup_rows(&self, args: &[Option<Arg>], lookups: &[Option<Arg>]) -> Result<Vec<usize>> {
        match lookup(lookups[0]) {
            Err(()) => Ok(Vec::new()),
            Ok(Some(n)) => Ok(self.0.metric(n).into_iter().collect()),
            Ok(None) => self.rows(args),
        }
    }

    fn column(&i: &usize, ctx: Ctx, col: c_int) -> Result<()> {
        let r = registry().map_err(Error::new)?;
        let gi = r.metrics[i];
        let g = &r.groups[gi];
        match col {
            0 => opt_text(ctx, g.name.as_deref())?,
            1 => opt_text(ctx, g.instrument.as_deref())?,
            2 => opt_text(ctx, g.unit.as_deref())?,
            3 => opt_text(ctx, g.stability.as_deref())?,
            4 => ctx.i64(g.deprecated_reason.is_some() as i64),
            5 => opt_text(ctx, g.deprecated_reason.as_deref())?,
            6 => opt_text(ctx, g.replacement.as_deref())?,
            7 => opt_text(ctx, g.deprecated_note.as_deref())?,
            8 => opt_text(ctx, g.brief.as_deref())?,
            9 => {
                let mut m = serde_json::Map::new();
                for a in &r.group_attributes[r.attributes_of(gi)] {
                    m.insert(a.attribute.clone(), a.level.clone().into());
                }
                ctx.text(&serde_json::Value::Object(m).to_string())?
            }
            10 => ctx.text(&g.id)?,
            11 => version(ctx, r)?,
            _ => ctx.null(),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// semconv_groups

struct GroupsTable(&'static Registry);

impl TableFunction for GroupsTable {
    type Aux = ();
    type Row = usize;
    const NAME: &'static str = "semconv_groups";
    const SCHEMA: &'static str = "CREATE TABLE x(id TEXT, type TEXT, name TEXT, span_kind TEXT, \
        instrument TEXT, unit TEXT, stability TEXT, deprecated INTEGER, deprecated_reason TEXT, \
        replacement TEXT, deprecated_note TEXT, refines TEXT, brief TEXT, semconv_version TEXT)";
    const FIRST_ARG: c_int = 14;
    const LOOKUP: &'static [c_int] = &[0, 1, 2];
    const INNOCUOUS: bool = true;

    fn connect(_db: Db, _aux: &()) -> Result<Self> {
        Ok(GroupsTable(reg(Self::NAME)?))
    }

    fn rows(&self, _args: &[Option<Arg>]) -> Result<Vec<usize>> {
        Ok((0..self.0.groups.len()).collect())
    }

    fn lookup_rows(&self, _args: &[Option<Arg>], lookups: &[Option<Arg>]) -> Result<Vec<usize>> {
        let (Ok(id), Ok(typ), Ok(name)) =
            (lookup(lookups[0]), lookup(lookups[1]), lookup(lookups[2]))
        else {
            return Ok(Vec::new());
        };
        let r = self.0;
        let ids: Vec<usize> = match id {
            Some(id) => r.group(id).into_iter().collect(),
            None => (0..r.groups.len()).collect(),
        };
        Ok(ids
            .into_iter()
            .filter(|&i| {
                let g = &r.groups[i];
                typ.is_none_or(|t| g.typ == t) && name.is_none_or(|n| g.name.as_deref() == Some(n))
            })
            .collect())
    }

    fn column(&i: &usize, ctx: Ctx, col: c_int) -> Result<()> {
        let r = registry().map_err(Error::new)?;
        let g = &r.groups[i];
        match col {
            0 => ctx.text(&g.id)?,
            1 => ctx.text(&g.typ)?,
            2 => opt_text(ctx, g.name.as_deref())?,
            3 => opt_text(ctx, g.span_kind.as_deref())?,
            4 => opt_text(ctx, g.instrument.as_deref())?,
            5 => opt_text(ctx, g.unit.as_deref())?,
            6 => opt_text(ctx, g.stability.as_deref())?,
            7 => ctx.i64(g.deprecated_reason.is_some() as i64),
            8 => opt_text(ctx, g.deprecated_reason.as_deref())?,
            9 => opt_text(ctx, g.replacement.as_deref())?,
            10 => opt_text(ctx, g.deprecated_note.as_deref())?,
            11 => opt_text(ctx, g.refines.as_deref())?,
            12 => opt_text(ctx, g.brief.as_deref())?,
            13 => version(ctx, r)?,
            _ => ctx.null(),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// semconv_group_attributes

struct GroupAttributesTable(&'static Registry);

impl TableFunction for GroupAttributesTable {
    type Aux = ();
    type Row = usize;
    const NAME: &'static str = "semconv_group_attributes";
    const SCHEMA: &'static str = "CREATE TABLE x(group_id TEXT, group_type TEXT, attribute TEXT, \
        requirement_level TEXT, condition TEXT, role TEXT, semconv_version TEXT)";
    const FIRST_ARG: c_int = 7;
    const LOOKUP: &'static [c_int] = &[0, 2];
    const INNOCUOUS: bool = true;

    fn connect(_db: Db, _aux: &()) -> Result<Self> {
        Ok(GroupAttributesTable(reg(Self::NAME)?))
    }

    fn rows(&self, _args: &[Option<Arg>]) -> Result<Vec<usize>> {
        Ok((0..self.0.group_attributes.len()).collect())
    }

    fn lookup_rows(&self, args: &[Option<Arg>], lookups: &[Option<Arg>]) -> Result<Vec<usize>> {
        let (Ok(group), Ok(attr)) = (lookup(lookups[0]), lookup(lookups[1])) else {
            return Ok(Vec::new());
        };
        let r = self.0;
        let rows: Vec<usize> = match group {
            Some(id) => match r.group(id) {
                Some(g) => r.attributes_of(g).collect(),
                None => Vec::new(),
            },
            None => self.rows(args)?,
        };
        Ok(match attr {
            Some(a) => rows
                .into_iter()
                .filter(|&i| r.group_attributes[i].attribute == a)
                .collect(),
            None => rows,
        })
    }

    fn column(&i: &usize, ctx: Ctx, col: c_int) -> Result<()> {
        let r = registry().map_err(Error::new)?;
        let a = &r.group_attributes[i];
        match col {
            0 => ctx.text(&r.groups[a.group].id)?,
            1 => ctx.text(&r.groups[a.group].typ)?,
            2 => ctx.text(&a.attribute)?,
            3 => ctx.text(&a.level)?,
            4 => opt_text(ctx, a.condition.as_deref())?,
            5 => opt_text(ctx, a.role.as_deref())?,
            6 => version(ctx, r)?,
            _ => ctx.null(),
        }
        Ok(())
    }
}

pub fn register(db: Db) -> Result<()> {
    ffi::define_scalar(db, "semconv_attribute", 1, ffi::pure(), semconv_attribute)?;
    ffi::define_scalar(db, "semconv_nearest", 1, ffi::pure(), semconv_nearest)?;
    ffi::define_scalar(db, "semconv_nearest", 2, ffi::pure(), semconv_nearest)?;
    ffi::define_table_function::<AttributesTable>(db, ())?;
    ffi::define_table_function::<MetricsTable>(db, ())?;
    ffi::define_table_function::<GroupsTable>(db, ())?;
    ffi::define_table_function::<GroupAttributesTable>(db, ())?;
    Ok(())
}
