//! The kinds of value a stored column can hold, and everything each kind
//! means in every place a row goes: the write-ahead log's bytes, DuckDB's
//! type and Arrow array, ClickHouse's type and `JSONEachRow` value, and how
//! a DuckDB row is read back.
//!
//! The table of columns (`columns.rs`) names a kind per field; adding a
//! field of an existing kind therefore touches that table only. Most kinds
//! are one SQL column; [`Props`] and [`Revenue`] are two each.

use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use duckdb::types::Value;
use std::sync::Arc;

/// One SQL column of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlColumn {
    /// The column's name in both back ends.
    pub name: String,
    /// DuckDB's type, without constraints.
    pub duck: &'static str,
    /// Whether DuckDB's column refuses NULL (nullable ones are optional values).
    pub not_null: bool,
    /// The value rows stored before the column existed read as, in DuckDB.
    pub duck_default: &'static str,
    /// ClickHouse's type (18.16 has no LowCardinality, Map or DateTime64).
    pub clickhouse: &'static str,
}

/// What a kind of value must do everywhere a row goes.
pub trait Kind {
    /// How a borrowed row ([`crate::RowRef`]) holds it.
    type Ref<'a>: Copy + std::fmt::Debug;
    /// How an owned row ([`crate::Row`]) holds it.
    type Owned: Clone + PartialEq + Default + std::fmt::Debug;
    /// The owned value, borrowed.
    fn borrow(v: &Self::Owned) -> Self::Ref<'_>;
    /// The borrowed value, owned.
    fn own(v: Self::Ref<'_>) -> Self::Owned;
    /// The SQL columns of a field called `field`.
    fn columns(field: &'static str) -> Vec<SqlColumn>;
    /// Appends the write-ahead log's bytes.
    fn encode(v: Self::Ref<'_>, out: &mut Vec<u8>);
    /// Reads what [`Kind::encode`] wrote from the front of `buf`.
    fn decode(buf: &mut &[u8]) -> Option<Self::Owned>;
    /// Appends this field's Arrow arrays (one per SQL column), in order.
    fn arrow<'a>(values: impl ExactSizeIterator<Item = Self::Ref<'a>>, out: &mut Vec<ArrayRef>);
    /// Appends `"column":value` pairs for `JSONEachRow`, each followed by a comma.
    fn json(field: &'static str, v: Self::Ref<'_>, out: &mut Vec<u8>);
    /// Reads the field from a DuckDB row whose next column is `*at`, advancing it.
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<Self::Owned>;
}

fn column(
    name: &str,
    duck: &'static str,
    clickhouse: &'static str,
    default: &'static str,
) -> SqlColumn {
    SqlColumn {
        name: name.to_string(),
        duck,
        not_null: true,
        duck_default: default,
        clickhouse,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Takes `N` bytes from the front of `buf`.
pub fn take<const N: usize>(buf: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = buf.split_first_chunk::<N>()?;
    *buf = rest;
    Some(*head)
}

/// Takes a length-prefixed UTF-8 string from the front of `buf`.
pub fn take_str(buf: &mut &[u8]) -> Option<String> {
    let n = u32::from_le_bytes(take(buf)?) as usize;
    if n > buf.len() {
        return None;
    }
    let (s, rest) = buf.split_at(n);
    *buf = rest;
    String::from_utf8(s.to_vec()).ok()
}

fn json_key(field: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b"\":");
}

fn json_value(v: &impl serde::Serialize, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, v).expect("a stored value serialises");
    out.push(b',');
}

/// Text, never NULL (absent is `''`).
#[derive(Debug)]
pub struct Text;

impl Kind for Text {
    type Ref<'a> = &'a str;
    type Owned = String;
    fn borrow(v: &String) -> &str {
        v
    }
    fn own(v: &str) -> String {
        v.to_string()
    }
    fn columns(field: &'static str) -> Vec<SqlColumn> {
        vec![column(field, "VARCHAR", "String", "''")]
    }
    fn encode(v: &str, out: &mut Vec<u8>) {
        put_str(out, v);
    }
    fn decode(buf: &mut &[u8]) -> Option<String> {
        take_str(buf)
    }
    fn arrow<'a>(values: impl ExactSizeIterator<Item = &'a str>, out: &mut Vec<ArrayRef>) {
        let values: Vec<&str> = values.collect();
        // Sized exactly: growing by doubling copies every string again.
        let bytes = values.iter().map(|v| v.len()).sum();
        let mut b = StringBuilder::with_capacity(values.len(), bytes);
        for v in values {
            b.append_value(v);
        }
        out.push(Arc::new(b.finish()));
    }
    fn json(field: &'static str, v: &str, out: &mut Vec<u8>) {
        json_key(field, out);
        json_value(&v, out);
    }
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<String> {
        *at += 1;
        Ok(row.get::<_, Option<String>>(*at - 1)?.unwrap_or_default())
    }
}

/// An instant in microseconds since the epoch, UTC: a `TIMESTAMP` in
/// DuckDB, an `Int64` in ClickHouse (18.16 has no `DateTime64`).
#[derive(Debug)]
pub struct Micros;

impl Kind for Micros {
    type Ref<'a> = i64;
    type Owned = i64;
    fn borrow(v: &i64) -> i64 {
        *v
    }
    fn own(v: i64) -> i64 {
        v
    }
    fn columns(field: &'static str) -> Vec<SqlColumn> {
        vec![column(field, "TIMESTAMP", "Int64", "'epoch'")]
    }
    fn encode(v: i64, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn decode(buf: &mut &[u8]) -> Option<i64> {
        Some(i64::from_le_bytes(take(buf)?))
    }
    fn arrow<'a>(values: impl ExactSizeIterator<Item = Self::Ref<'a>>, out: &mut Vec<ArrayRef>) {
        let mut b = TimestampMicrosecondBuilder::with_capacity(values.len());
        for v in values {
            b.append_value(v);
        }
        out.push(Arc::new(b.finish()));
    }
    fn json(field: &'static str, v: i64, out: &mut Vec<u8>) {
        json_key(field, out);
        json_value(&v, out);
    }
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<i64> {
        *at += 1;
        match row.get::<_, Value>(*at - 1)? {
            Value::Timestamp(_, us) => Ok(us),
            Value::BigInt(us) => Ok(us),
            _ => Ok(0),
        }
    }
}

macro_rules! unsigned {
    ($(#[$doc:meta])* $name:ident, $t:ty, $builder:ident, $duck:literal, $ch:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl Kind for $name {
            type Ref<'a> = $t;
            type Owned = $t;
            fn borrow(v: &$t) -> $t {
                *v
            }
            fn own(v: $t) -> $t {
                v
            }
            fn columns(field: &'static str) -> Vec<SqlColumn> {
                vec![column(field, $duck, $ch, "0")]
            }
            fn encode(v: $t, out: &mut Vec<u8>) {
                out.extend_from_slice(&v.to_le_bytes());
            }
            fn decode(buf: &mut &[u8]) -> Option<$t> {
                Some(<$t>::from_le_bytes(take(buf)?))
            }
            fn arrow<'a>(values: impl ExactSizeIterator<Item = Self::Ref<'a>>, out: &mut Vec<ArrayRef>) {
                let mut b = $builder::with_capacity(values.len());
                for v in values {
                    b.append_value(v);
                }
                out.push(Arc::new(b.finish()));
            }
            fn json(field: &'static str, v: $t, out: &mut Vec<u8>) {
                json_key(field, out);
                json_value(&v, out);
            }
            fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<$t> {
                *at += 1;
                Ok(row.get::<_, Option<$t>>(*at - 1)?.unwrap_or_default())
            }
        }
    };
}

unsigned!(
    /// An unsigned 64-bit id.
    U64, u64, UInt64Builder, "UBIGINT", "UInt64"
);
unsigned!(
    /// An unsigned 32-bit count or position.
    U32, u32, UInt32Builder, "UINTEGER", "UInt32"
);
unsigned!(
    /// A small number, 0–255 (a percentage).
    U8, u8, UInt8Builder, "UTINYINT", "UInt8"
);

/// True or false: `BOOLEAN` in DuckDB, a `UInt8` in ClickHouse, which 18.16
/// reads only from a JSON number.
#[derive(Debug)]
pub struct Bool;

impl Kind for Bool {
    type Ref<'a> = bool;
    type Owned = bool;
    fn borrow(v: &bool) -> bool {
        *v
    }
    fn own(v: bool) -> bool {
        v
    }
    fn columns(field: &'static str) -> Vec<SqlColumn> {
        vec![column(field, "BOOLEAN", "UInt8", "false")]
    }
    fn encode(v: bool, out: &mut Vec<u8>) {
        out.push(u8::from(v));
    }
    fn decode(buf: &mut &[u8]) -> Option<bool> {
        match take::<1>(buf)? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
    fn arrow<'a>(values: impl ExactSizeIterator<Item = Self::Ref<'a>>, out: &mut Vec<ArrayRef>) {
        let mut b = BooleanBuilder::with_capacity(values.len());
        for v in values {
            b.append_value(v);
        }
        out.push(Arc::new(b.finish()));
    }
    fn json(field: &'static str, v: bool, out: &mut Vec<u8>) {
        json_key(field, out);
        json_value(&u8::from(v), out);
    }
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<bool> {
        *at += 1;
        Ok(row.get::<_, Option<bool>>(*at - 1)?.unwrap_or_default())
    }
}

/// Custom properties: two parallel lists, `prop_keys` and `prop_values`
/// (ClickHouse 18.16 has no `Map`). There is one such field, so the column
/// names are fixed.
#[derive(Debug)]
pub struct Props;

fn texts(v: Value) -> Vec<String> {
    match v {
        Value::List(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Text(s) => s,
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Kind for Props {
    type Ref<'a> = &'a [(String, String)];
    type Owned = Vec<(String, String)>;
    fn borrow(v: &Vec<(String, String)>) -> &[(String, String)] {
        v
    }
    fn own(v: &[(String, String)]) -> Vec<(String, String)> {
        v.to_vec()
    }
    fn columns(_field: &'static str) -> Vec<SqlColumn> {
        vec![
            column("prop_keys", "VARCHAR[]", "Array(String)", "[]"),
            column("prop_values", "VARCHAR[]", "Array(String)", "[]"),
        ]
    }
    fn encode(v: &[(String, String)], out: &mut Vec<u8>) {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for (k, v) in v {
            put_str(out, k);
            put_str(out, v);
        }
    }
    fn decode(buf: &mut &[u8]) -> Option<Vec<(String, String)>> {
        let n = u32::from_le_bytes(take(buf)?) as usize;
        if n > buf.len() {
            return None;
        }
        let mut props = Vec::with_capacity(n);
        for _ in 0..n {
            props.push((take_str(buf)?, take_str(buf)?));
        }
        Some(props)
    }
    fn arrow<'a>(
        values: impl ExactSizeIterator<Item = &'a [(String, String)]>,
        out: &mut Vec<ArrayRef>,
    ) {
        let mut keys = ListBuilder::new(StringBuilder::new());
        let mut vals = ListBuilder::new(StringBuilder::new());
        for props in values {
            for (k, v) in props {
                keys.values().append_value(k);
                vals.values().append_value(v);
            }
            keys.append(true);
            vals.append(true);
        }
        out.push(Arc::new(keys.finish()));
        out.push(Arc::new(vals.finish()));
    }
    fn json(_field: &'static str, v: &[(String, String)], out: &mut Vec<u8>) {
        let (keys, values): (Vec<&str>, Vec<&str>) =
            v.iter().map(|(k, v)| (k.as_str(), v.as_str())).unzip();
        json_key("prop_keys", out);
        json_value(&keys, out);
        json_key("prop_values", out);
        json_value(&values, out);
    }
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<Vec<(String, String)>> {
        *at += 2;
        let keys = texts(row.get(*at - 2)?);
        let values = texts(row.get(*at - 1)?);
        Ok(keys.into_iter().zip(values).collect())
    }
}

/// An optional amount and currency, two nullable columns named after the
/// field (`revenue_amount`, `revenue_currency`).
#[derive(Debug)]
pub struct Revenue;

impl Kind for Revenue {
    type Ref<'a> = Option<(f64, &'a str)>;
    type Owned = Option<(f64, String)>;
    fn borrow(v: &Option<(f64, String)>) -> Option<(f64, &str)> {
        v.as_ref().map(|(a, c)| (*a, c.as_str()))
    }
    fn own(v: Option<(f64, &str)>) -> Option<(f64, String)> {
        v.map(|(a, c)| (a, c.to_string()))
    }
    fn columns(field: &'static str) -> Vec<SqlColumn> {
        let nullable = |suffix: &str, duck, clickhouse| SqlColumn {
            name: format!("{field}_{suffix}"),
            duck,
            not_null: false,
            duck_default: "NULL",
            clickhouse,
        };
        vec![
            nullable("amount", "DOUBLE", "Nullable(Float64)"),
            nullable("currency", "VARCHAR", "Nullable(String)"),
        ]
    }
    fn encode(v: Option<(f64, &str)>, out: &mut Vec<u8>) {
        match v {
            Some((amount, currency)) => {
                out.push(1);
                out.extend_from_slice(&amount.to_bits().to_le_bytes());
                put_str(out, currency);
            }
            None => out.push(0),
        }
    }
    fn decode(buf: &mut &[u8]) -> Option<Option<(f64, String)>> {
        match take::<1>(buf)? {
            [0] => Some(None),
            [1] => Some(Some((
                f64::from_bits(u64::from_le_bytes(take(buf)?)),
                take_str(buf)?,
            ))),
            _ => None,
        }
    }
    fn arrow<'a>(
        values: impl ExactSizeIterator<Item = Option<(f64, &'a str)>>,
        out: &mut Vec<ArrayRef>,
    ) {
        let mut amount = Float64Builder::with_capacity(values.len());
        let mut currency = StringBuilder::new();
        for v in values {
            match v {
                Some((a, c)) => {
                    amount.append_value(a);
                    currency.append_value(c);
                }
                None => {
                    amount.append_null();
                    currency.append_null();
                }
            }
        }
        out.push(Arc::new(amount.finish()));
        out.push(Arc::new(currency.finish()));
    }
    fn json(field: &'static str, v: Option<(f64, &str)>, out: &mut Vec<u8>) {
        json_key(&format!("{field}_amount"), out);
        json_value(&v.map(|(a, _)| a), out);
        json_key(&format!("{field}_currency"), out);
        json_value(&v.map(|(_, c)| c), out);
    }
    fn read_duck(row: &duckdb::Row<'_>, at: &mut usize) -> duckdb::Result<Option<(f64, String)>> {
        *at += 2;
        let amount: Option<f64> = row.get(*at - 2)?;
        let currency: Option<String> = row.get(*at - 1)?;
        Ok(amount.zip(currency))
    }
}
