//! The little of JSON-RPC 2.0 the gateway needs: tell a request from a notification from a
//! response, and build error answers. Messages stay `serde_json::Value`s so that everything
//! the gateway does not inspect is relayed exactly as it came, fields it has never heard of
//! included.

use serde_json::{Value, json};

/// What one JSON-RPC message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// A call that expects an answer with the same `id`.
    Request {
        /// The request id (a string or a number).
        id: &'a Value,
        /// The method, e.g. `tools/call`.
        method: &'a str,
    },
    /// A one-way message.
    Notification {
        /// The method, e.g. `notifications/progress`.
        method: &'a str,
    },
    /// The answer to a request (`result` or `error`).
    Response {
        /// The id of the request it answers.
        id: &'a Value,
    },
    /// Not a JSON-RPC 2.0 message; the text says why.
    Invalid(&'static str),
}

/// Classifies a parsed message.
pub fn classify(message: &Value) -> Kind<'_> {
    let Some(object) = message.as_object() else {
        return if message.is_array() {
            Kind::Invalid("JSON-RPC batches are not supported (MCP 2025-06-18 removed them)")
        } else {
            Kind::Invalid("a JSON-RPC message must be a JSON object")
        };
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Kind::Invalid("`jsonrpc` must be \"2.0\"");
    }
    let id = object
        .get("id")
        .filter(|id| id.is_string() || id.is_number());
    match (object.get("method").and_then(Value::as_str), id) {
        (Some(method), Some(id)) => Kind::Request { id, method },
        (Some(method), None) if !object.contains_key("id") => Kind::Notification { method },
        (Some(_), None) => Kind::Invalid("a request id must be a string or a number"),
        (None, Some(id)) if object.contains_key("result") || object.contains_key("error") => {
            Kind::Response { id }
        }
        (None, _) => Kind::Invalid("a message needs a `method`, or a `result` or `error`"),
    }
}

/// The key a request id is remembered under (`1` and `"1"` are different ids).
pub fn id_key(id: &Value) -> String {
    id.to_string()
}

/// JSON-RPC's own error codes, and airlock's in the range JSON-RPC leaves to applications.
pub mod code {
    /// The message is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The message is not a valid request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The parameters are invalid.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Something failed inside airlock (the decision could not be recorded: refused).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// airlock's policy refused the request.
    pub const DENIED: i64 = -32041;
    /// A human must approve this exact request first.
    pub const APPROVAL_REQUIRED: i64 = -32042;
    /// The caller must authenticate more strongly first.
    pub const STEP_UP_REQUIRED: i64 = -32043;
}

/// An error answer to the request `id`.
pub fn error_response(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// A result answer to the request `id`.
pub fn result_response(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let request = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"});
        assert_eq!(
            classify(&request),
            Kind::Request {
                id: &json!(7),
                method: "tools/call"
            }
        );
        let note = json!({"jsonrpc": "2.0", "method": "notifications/progress"});
        assert_eq!(
            classify(&note),
            Kind::Notification {
                method: "notifications/progress"
            }
        );
        let answer = json!({"jsonrpc": "2.0", "id": "a", "result": {}});
        assert_eq!(classify(&answer), Kind::Response { id: &json!("a") });
    }

    #[test]
    fn malformed_messages_say_what_is_wrong() {
        for (message, expected) in [
            (json!([1, 2]), "batches"),
            (json!("hi"), "JSON object"),
            (json!({"id": 1, "method": "x"}), "jsonrpc"),
            (
                json!({"jsonrpc": "2.0", "id": null, "method": "x"}),
                "string or a number",
            ),
            (json!({"jsonrpc": "2.0", "id": 1}), "`method`"),
        ] {
            match classify(&message) {
                Kind::Invalid(why) => assert!(why.contains(expected), "{why}"),
                other => panic!("{message} classified as {other:?}"),
            }
        }
    }

    #[test]
    fn numeric_and_string_ids_are_different_keys() {
        assert_ne!(id_key(&json!(1)), id_key(&json!("1")));
    }
}
