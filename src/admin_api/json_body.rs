//! Reading the admin API's JSON request bodies: an object whose fields are checked by name and
//! type, unknown fields refused (a misspelt field must not be silently ignored).

use serde_json::{Map, Value};

use super::error::AdminError;

/// A request's JSON object, fields taken one by one.
#[derive(Debug)]
pub struct JsonBody {
    fields: Map<String, Value>,
}

impl JsonBody {
    /// Parses `bytes`: a JSON object is required (`{}` says "nothing"; an empty body says
    /// nothing about what was meant).
    pub fn parse(bytes: &[u8]) -> Result<Self, AdminError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AdminError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(JsonBody { fields }),
            Ok(_) => Err(AdminError::InvalidRequest(
                "the body must be a JSON object".into(),
            )),
            Err(error) => Err(AdminError::InvalidRequest(format!(
                "the body is not JSON: {error}"
            ))),
        }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name).filter(|value| !value.is_null())
    }

    /// The field `name` read by `read` (`None` from it: not of the type `expected` names).
    fn typed<T>(
        &mut self,
        name: &str,
        expected: &str,
        read: impl FnOnce(Value) -> Option<T>,
    ) -> Result<Option<T>, AdminError> {
        match self.take(name) {
            None => Ok(None),
            Some(value) => read(value)
                .map(Some)
                .ok_or_else(|| AdminError::InvalidRequest(format!("{name} must be {expected}"))),
        }
    }

    /// A string field, if present (null counts as absent).
    pub fn string(&mut self, name: &str) -> Result<Option<String>, AdminError> {
        self.typed(name, "a string", |value| match value {
            Value::String(text) => Some(text),
            _ => None,
        })
    }

    /// A boolean field, if present.
    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, AdminError> {
        self.typed(name, "true or false", |value| value.as_bool())
    }

    /// A non-negative integer field, if present.
    pub fn count(&mut self, name: &str) -> Result<Option<u64>, AdminError> {
        self.typed(name, "a non-negative integer", |value| value.as_u64())
    }

    /// Refuses the fields nobody took.
    pub fn finish(self) -> Result<(), AdminError> {
        match self.fields.keys().next() {
            None => Ok(()),
            Some(name) => Err(AdminError::InvalidRequest(format!("unknown field {name}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: fields are typed, null is absent, and a field nobody reads is refused by name.
    #[test]
    fn takes_typed_fields_and_refuses_the_rest() {
        let mut body = JsonBody::parse(br#"{"name":"a","admin":true,"n":3,"email":null}"#).unwrap();
        assert_eq!(body.string("name").unwrap().as_deref(), Some("a"));
        assert_eq!(body.boolean("admin").unwrap(), Some(true));
        assert_eq!(body.string("email").unwrap(), None);
        assert!(body.boolean("n").is_err());
        let mut body = JsonBody::parse(br#"{"n":-1,"typo":1}"#).unwrap();
        assert!(body.count("n").is_err());
        assert_eq!(body.finish().unwrap_err().message(), "unknown field typo");
        assert!(JsonBody::parse(b"[1]").is_err());
        assert!(JsonBody::parse(b"{").is_err());
        assert!(JsonBody::parse(b" ").is_err());
        assert!(JsonBody::parse(b"{}").unwrap().finish().is_ok());
    }
}
