//! Tool arguments as a typed Cedar record (`context.arguments`).
//!
//! Cedar validates a policy against a schema, and a schema gives `context` one type per
//! action — but every tool has different arguments. airlock therefore declares
//! `context.arguments` as **one record whose attributes are the union of the arguments
//! declared in the tool configuration** (`[tools.NAME] arguments = { url = "String" }`),
//! every attribute optional. The engine generates that `type Arguments = {…};` line and appends
//! it to `policies/airlock.cedarschema`. Policies must therefore test `context.arguments has
//! url` before reading it (the validator insists), and an argument name has one type across
//! all tools (configuration validation reports a clash).
//!
//! Mapping from the JSON arguments of a call, by declared type:
//!
//! | declared     | JSON accepted                                                         |
//! |--------------|-----------------------------------------------------------------------|
//! | `String`     | a string; a number or bool as its text; an array/object as compact JSON |
//! | `Long`       | an integer that fits in i64                                           |
//! | `Bool`       | `true`/`false`                                                        |
//! | `Decimal`    | a number or numeric string, rounded to Cedar's 4 fractional digits    |
//! | `Path`       | a canonical absolute path, or a `file://` URI of one (see below)      |
//! | `Set<T>`     | an array whose every element maps to `T`                              |
//! | `{ a: T }`   | an object; declared attributes are mapped, others dropped             |
//!
//! `null` and absent arguments are left out of the record. Arguments that are not declared do
//! not appear in `context.arguments` (their names are in `context.argument_names`). A value
//! that does not fit its declared type makes the request invalid, and an invalid request is a
//! deny naming the argument — never a guess.
//!
//! `Path` is a Cedar `String` that a policy can match with `like "/project/*"` and trust: the
//! mapping accepts only an absolute, lexically normalised path — no `.`, `..` or empty
//! segments, no trailing `/` (except `/`), no leading `~`, no NUL, no backslash, and no
//! percent-escape that decodes (in any number of rounds) to `.`, `/`, `\` or NUL (also as
//! `%uXXXX` or an overlong UTF-8 byte). A `file:///PATH` or `file://localhost/PATH` URI is
//! percent-decoded and its path must pass the same rules; the policy sees the plain path. Anything else is refused, with the reason, not
//! repaired: a surface that can see the server's filesystem repairs it first, with symbolic
//! links resolved, and forwards the repaired value ([`crate::paths`]).

use std::collections::BTreeMap;
use std::fmt;

use cedar_policy::RestrictedExpression;
use serde_json::Value;

/// A declared argument type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgType {
    /// Cedar `String`.
    String,
    /// Cedar `Long`.
    Long,
    /// Cedar `Bool`.
    Bool,
    /// Cedar `decimal` extension type.
    Decimal,
    /// A canonical absolute file path: Cedar `String`, checked by
    /// [`crate::paths::check_canonical_path`].
    Path,
    /// Cedar `Set<T>`.
    Set(Box<ArgType>),
    /// A record; every attribute optional.
    Record(BTreeMap<String, ArgType>),
}

/// Prints the type as declared (`Path` stays `Path`); [`ArgType::cedar_type`] prints the
/// Cedar schema type.
impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_type(f, self, false)
    }
}

/// An [`ArgType`] printed as its Cedar schema type (from [`ArgType::cedar_type`]).
#[derive(Debug, Clone, Copy)]
pub struct CedarType<'a>(&'a ArgType);

impl fmt::Display for CedarType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_type(f, self.0, true)
    }
}

fn write_type(f: &mut impl fmt::Write, ty: &ArgType, cedar: bool) -> fmt::Result {
    match ty {
        ArgType::String => f.write_str("String"),
        ArgType::Long => f.write_str("Long"),
        ArgType::Bool => f.write_str("Bool"),
        ArgType::Decimal => f.write_str("decimal"),
        ArgType::Path if cedar => f.write_str("String"),
        ArgType::Path => f.write_str("Path"),
        ArgType::Set(inner) => {
            f.write_str("Set<")?;
            write_type(f, inner, cedar)?;
            f.write_str(">")
        }
        ArgType::Record(fields) => write_fields(f, fields, cedar),
    }
}

/// Writes `{ "a"?: T, ... }` with Cedar types (the form the generated schema line uses).
pub(crate) fn write_record(
    f: &mut impl fmt::Write,
    fields: &BTreeMap<String, ArgType>,
) -> fmt::Result {
    write_fields(f, fields, true)
}

fn write_fields(
    f: &mut impl fmt::Write,
    fields: &BTreeMap<String, ArgType>,
    cedar: bool,
) -> fmt::Result {
    f.write_str("{")?;
    for (i, (name, ty)) in fields.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, " \"{name}\"?: ")?;
        write_type(f, ty, cedar)?;
    }
    f.write_str(" }")
}

impl ArgType {
    /// The Cedar schema type: `Path` is a `String` there.
    pub fn cedar_type(&self) -> CedarType<'_> {
        CedarType(self)
    }

    /// Whether a `Path` appears anywhere in this type (a surface then has paths to rewrite).
    pub fn contains_path(&self) -> bool {
        match self {
            ArgType::Path => true,
            ArgType::Set(inner) => inner.contains_path(),
            ArgType::Record(fields) => fields.values().any(ArgType::contains_path),
            ArgType::String | ArgType::Long | ArgType::Bool | ArgType::Decimal => false,
        }
    }

    /// Parses `String`, `Long`, `Bool`, `Decimal`, `Path`, `Set<T>` or `{ name: T, ... }`.
    pub fn parse(text: &str) -> Result<ArgType, String> {
        let mut parser = Parser { text, pos: 0 };
        let ty = parser.ty()?;
        parser.skip_ws();
        if parser.pos != text.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }

    /// Converts one JSON value to a Cedar expression of this type; `Err` names what was found.
    pub(crate) fn convert(&self, value: &Value) -> Result<RestrictedExpression, String> {
        match (self, value) {
            (ArgType::String, Value::String(s)) => Ok(RestrictedExpression::new_string(s.clone())),
            (ArgType::String, Value::Number(_) | Value::Bool(_)) => {
                Ok(RestrictedExpression::new_string(value.to_string()))
            }
            (ArgType::String, Value::Array(_) | Value::Object(_)) => {
                Ok(RestrictedExpression::new_string(value.to_string()))
            }
            (ArgType::Long, Value::Number(n)) => n
                .as_i64()
                .map(RestrictedExpression::new_long)
                .ok_or_else(|| format!("expected Long, got {n}")),
            (ArgType::Bool, Value::Bool(b)) => Ok(RestrictedExpression::new_bool(*b)),
            (ArgType::Decimal, Value::Number(n)) => to_decimal(&n.to_string()),
            (ArgType::Decimal, Value::String(s)) => to_decimal(s),
            (ArgType::Path, Value::String(s)) => crate::paths::check_canonical_path(s)
                .map(RestrictedExpression::new_string)
                .map_err(|e| e.to_string()),
            (ArgType::Set(inner), Value::Array(items)) => {
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| inner.convert(item).map_err(|e| format!("[{i}]: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(RestrictedExpression::new_set(items))
            }
            (ArgType::Record(fields), Value::Object(map)) => record(fields, map),
            (ty, value) => Err(format!("expected {ty}, got {}", json_kind(value))),
        }
    }
}

/// Builds the typed record for the declared `fields` from a JSON object.
pub(crate) fn record(
    fields: &BTreeMap<String, ArgType>,
    map: &serde_json::Map<String, Value>,
) -> Result<RestrictedExpression, String> {
    let mut attrs = Vec::new();
    for (name, ty) in fields {
        match map.get(name) {
            None | Some(Value::Null) => {}
            Some(value) => {
                let expr = ty.convert(value).map_err(|e| format!("`{name}`: {e}"))?;
                attrs.push((name.clone(), expr));
            }
        }
    }
    RestrictedExpression::new_record(attrs).map_err(|e| e.to_string())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Cedar decimals have exactly up to four fractional digits and fit in i64 when scaled by
/// 10^4; round to four digits and let Cedar check the range.
fn to_decimal(text: &str) -> Result<RestrictedExpression, String> {
    let number: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected decimal, got `{text}`"))?;
    if !number.is_finite() || number.abs() >= 922_337_203_685_477.0 {
        return Err(format!("{text} is outside the decimal range"));
    }
    Ok(RestrictedExpression::new_decimal(format!("{number:.4}")))
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> String {
        format!(
            "{what} at column {} of `{}`; types: String, Long, Bool, Decimal, Path, Set<T>, \
             {{ name: T }}",
            self.pos + 1,
            self.text
        )
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let text: &'a str = self.text;
        let rest = &text[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(&rest[..len])
    }

    fn ty(&mut self) -> Result<ArgType, String> {
        if self.eat("{") {
            let mut fields = BTreeMap::new();
            if self.eat("}") {
                return Ok(ArgType::Record(fields));
            }
            loop {
                let name = self
                    .ident()
                    .ok_or_else(|| self.error("expected an attribute name"))?
                    .to_owned();
                crate::config::check_name(&name)?;
                // Every attribute is optional anyway; accept the Cedar spelling.
                self.eat("?");
                if !self.eat(":") {
                    return Err(self.error("expected `:`"));
                }
                let ty = self.ty()?;
                if fields.insert(name.clone(), ty).is_some() {
                    return Err(format!("attribute `{name}` declared twice"));
                }
                if self.eat("}") {
                    return Ok(ArgType::Record(fields));
                }
                if !self.eat(",") {
                    return Err(self.error("expected `,` or `}`"));
                }
            }
        }
        let start = self.pos;
        match self.ident() {
            Some("String") => Ok(ArgType::String),
            Some("Long") => Ok(ArgType::Long),
            Some("Bool" | "Boolean") => Ok(ArgType::Bool),
            Some("Decimal" | "decimal") => Ok(ArgType::Decimal),
            Some("Path") => Ok(ArgType::Path),
            Some("Set") => {
                if !self.eat("<") {
                    return Err(self.error("expected `<` after Set"));
                }
                let inner = self.ty()?;
                if !self.eat(">") {
                    return Err(self.error("expected `>`"));
                }
                Ok(ArgType::Set(Box::new(inner)))
            }
            _ => {
                self.pos = start;
                Err(self.error("unknown type"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_nested_types() {
        let ty = ArgType::parse("{ host: String, ports: Set<Long>, tls?: Bool }").unwrap();
        assert_eq!(
            ty.to_string(),
            r#"{ "host"?: String, "ports"?: Set<Long>, "tls"?: Bool }"#
        );
        assert_eq!(ArgType::parse("Decimal").unwrap(), ArgType::Decimal);
        assert!(
            ArgType::parse("Strin")
                .unwrap_err()
                .contains("unknown type")
        );
        assert!(ArgType::parse("Set<Long").is_err());
        assert!(ArgType::parse("Long extra").is_err());
    }

    #[test]
    fn converts_json_by_declared_type_and_names_mismatches() {
        assert!(ArgType::Long.convert(&serde_json::json!(3)).is_ok());
        let err = ArgType::Long.convert(&serde_json::json!("3")).unwrap_err();
        assert_eq!(err, "expected Long, got a string");
        assert!(ArgType::Decimal.convert(&serde_json::json!(1.25)).is_ok());
        assert!(ArgType::Decimal.convert(&serde_json::json!(1e300)).is_err());
        let set = ArgType::Set(Box::new(ArgType::String));
        assert!(set.convert(&serde_json::json!(["a", 1])).is_ok());
        let err = ArgType::Set(Box::new(ArgType::Bool))
            .convert(&serde_json::json!([true, 1]))
            .unwrap_err();
        assert!(err.starts_with("[1]"), "{err}");
    }

    #[test]
    fn path_is_declared_as_path_and_is_a_cedar_string() {
        let ty = ArgType::parse("{ root: Path, files: Set<Path>, n: Long }").unwrap();
        assert_eq!(
            ty.to_string(),
            r#"{ "files"?: Set<Path>, "n"?: Long, "root"?: Path }"#
        );
        assert_eq!(
            ty.cedar_type().to_string(),
            r#"{ "files"?: Set<String>, "n"?: Long, "root"?: String }"#
        );
        assert!(ty.contains_path());
        assert!(!ArgType::parse("Set<String>").unwrap().contains_path());
    }

    #[test]
    fn path_maps_only_canonical_paths_and_says_why_not() {
        let path = ArgType::Path;
        assert!(path.convert(&serde_json::json!("/proj/a.txt")).is_ok());
        assert!(
            path.convert(&serde_json::json!("file:///proj/a.txt"))
                .is_ok()
        );
        let err = path
            .convert(&serde_json::json!("/proj/../etc"))
            .unwrap_err();
        assert!(err.contains("not a canonical path"), "{err}");
        let err = path.convert(&serde_json::json!(3)).unwrap_err();
        assert_eq!(err, "expected Path, got an integer");
    }
}
