//! Bucket policies (pure, no I/O): a policy document is parsed, validated against its bucket and
//! compiled once, at PutBucketPolicy (or when a stored one is read), then evaluated per request
//! from an action, a resource ARN, the principal and the request's condition keys. S3 User
//! Guide, "Bucket policies"; IAM User Guide, "Policy evaluation logic" and "IAM JSON policy
//! element reference". serde_json reads the JSON.

pub mod actions;
pub mod conditions;

use serde_json::Value;

use actions::{actions_named, glob_match, ResourceKind};
use conditions::{
    normalize_key, Condition, ConditionContext, ConditionOperator, ConditionOutcome, SetQualifier,
};

/// Bytes of a bucket policy (S3 User Guide, "Bucket policies": "limited to 20 KB").
pub const POLICY_BYTES_MAX: usize = 20 * 1024;

/// The policy language versions IAM accepts.
const POLICY_VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// The ARN prefix of every S3 resource.
pub const S3_ARN_PREFIX: &str = "arn:aws:s3:::";

/// Why a policy document was refused: S3's `MalformedPolicy` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError(message.into())
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

/// A list that matches by inclusion (`Action`) or exclusion (`NotAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Matcher<T> {
    items: Vec<T>,
    negated: bool,
}

/// One principal a statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalPattern {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous requests included.
    Everyone,
    /// A canonical user id, an access key, or an IAM user ARN's name.
    User(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principals: Matcher<PrincipalPattern>,
    /// Action name patterns without the `s3:` prefix (`*` for every action).
    actions: Matcher<String>,
    resources: Matcher<String>,
    conditions: Vec<Condition>,
}

/// Who sends a request, as a policy's `Principal` names it.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalIdentity<'a> {
    /// Access key.
    pub access_key: &'a str,
    /// Canonical user id.
    pub canonical_id: &'a str,
    /// User name (`ringstore user add NAME`).
    pub name: &'a str,
}

/// One request as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// The signer; `None` for an anonymous request.
    pub principal: Option<PrincipalIdentity<'a>>,
    /// The S3 action without prefix (`GetObject`).
    pub action: &'a str,
    /// The resource ARN (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`).
    pub resource: &'a str,
    /// The request's condition keys.
    pub context: &'a ConditionContext,
}

/// A policy's verdict on one request (IAM's evaluation: an explicit Deny wins, then an Allow;
/// otherwise the policy says nothing and the ACLs decide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A Deny statement applies.
    Deny,
    /// An Allow statement applies and no Deny does.
    Allow,
    /// No statement applies.
    NoOpinion,
}

/// A parsed, validated bucket policy; keeps the text it came from (GetBucketPolicy answers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    /// The document as the client sent it.
    pub text: String,
    statements: Vec<Statement>,
}

impl BucketPolicy {
    /// Parses and validates `text` as the policy of `bucket`, with S3's MalformedPolicy
    /// messages: valid JSON object, a known Version, Statement(s) each with Effect, Principal or
    /// NotPrincipal, Action or NotAction naming S3 actions, Resource or NotResource inside the
    /// bucket, an action that applies to one of its resources, and well-formed conditions.
    pub fn parse(text: &str, bucket: &str) -> Result<BucketPolicy, PolicyError> {
        if text.len() > POLICY_BYTES_MAX {
            return Err(malformed("Policies must be no larger than 20 KB."));
        }
        let document: Value = serde_json::from_str(text)
            .map_err(|_| malformed("Policies must be valid JSON and the first byte must be '{'"))?;
        let Value::Object(fields) = &document else {
            return Err(malformed(
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        };
        for name in fields.keys() {
            if !matches!(name.as_str(), "Version" | "Id" | "Statement") {
                return Err(malformed(format!("Unknown field {name}")));
            }
        }
        if let Some(version) = fields.get("Version") {
            if !version
                .as_str()
                .is_some_and(|v| POLICY_VERSIONS.contains(&v))
            {
                return Err(malformed("The policy must contain a valid version string"));
            }
        }
        let statements = match fields.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            Some(_) => {
                return Err(malformed(
                    "Statement must be an object or a list of objects",
                ))
            }
            None => return Err(malformed("Missing required field Statement")),
        };
        if statements.is_empty() {
            return Err(malformed("Could not parse the policy: Statement is empty!"));
        }
        let statements = statements
            .into_iter()
            .map(|statement| parse_statement(statement, bucket))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BucketPolicy {
            text: text.to_string(),
            statements,
        })
    }

    /// Evaluates the policy for `request`. A condition on a key ringstore does not supply fails
    /// closed: an Allow does not apply, a Deny does.
    pub fn evaluate(&self, request: &PolicyRequest<'_>) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            if !statement.principal_matches(request.principal.as_ref())
                || !statement.action_matches(request.action)
                || !statement.resource_matches(request.resource)
            {
                continue;
            }
            let mut undecidable = false;
            let mut holds = true;
            for condition in &statement.conditions {
                match condition.evaluate(request.context) {
                    ConditionOutcome::Holds => {}
                    ConditionOutcome::Fails => holds = false,
                    ConditionOutcome::Undecidable => undecidable = true,
                }
            }
            match statement.effect {
                Effect::Deny if holds => return Decision::Deny,
                Effect::Allow if holds && !undecidable => allowed = true,
                _ => {}
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NoOpinion
        }
    }

    /// Whether any condition reads a key starting with `prefix` (normalized, e.g.
    /// `s3:existingobjecttag/`): the caller then supplies those keys (at the cost of a lookup).
    pub fn reads_keys_under(&self, prefix: &str) -> bool {
        self.statements.iter().any(|statement| {
            statement
                .conditions
                .iter()
                .any(|condition| condition.key.starts_with(prefix))
        })
    }

    /// Whether the policy grants anything to everyone (S3 User Guide, "The meaning of
    /// 'public'"): an Allow whose principals include `*`, not narrowed to fixed values of the
    /// source address or the caller's identity.
    pub fn is_public(&self) -> bool {
        const NARROWING_KEYS: &[&str] = &[
            "aws:sourceip",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourcearn",
            "aws:sourceaccount",
            "aws:sourceowner",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:principalorgid",
            "aws:userid",
            "aws:username",
            "s3:dataaccesspointaccount",
            "s3:dataaccesspointarn",
        ];
        // A condition narrows a grant only to fixed values: a positive match (no negation, no
        // IfExists, no ForAllValues, which holds for an absent key) of a narrowing key against
        // values without wildcards, and for addresses ranges no wider than /8 (IPv4) or /32
        // (IPv6).
        let narrows = |condition: &Condition| {
            let fixed_operator = matches!(
                condition.operator,
                ConditionOperator::StringEquals
                    | ConditionOperator::StringEqualsIgnoreCase
                    | ConditionOperator::StringLike
                    | ConditionOperator::IpAddress
            ) && !condition.if_exists
                && condition.qualifier != SetQualifier::ForAllValues;
            let fixed_values = condition.values.iter().all(|value| {
                if condition.operator == ConditionOperator::IpAddress {
                    conditions::parse_cidr(value)
                        .map(|(address, length)| conditions::effective_range(address, length))
                        .is_some_and(|(address, length)| {
                            length >= if address.is_ipv4() { 8 } else { 32 }
                        })
                } else {
                    !value.is_empty() && !value.contains(['*', '?'])
                }
            });
            NARROWING_KEYS.contains(&condition.key.as_str()) && fixed_operator && fixed_values
        };
        self.statements.iter().any(|statement| {
            statement.effect == Effect::Allow
                && !statement.principals.negated
                && statement
                    .principals
                    .items
                    .contains(&PrincipalPattern::Everyone)
                && !statement.conditions.iter().any(narrows)
        })
    }
}

impl Statement {
    fn principal_matches(&self, principal: Option<&PrincipalIdentity<'_>>) -> bool {
        let named = self.principals.items.iter().any(|pattern| match pattern {
            PrincipalPattern::Everyone => true,
            PrincipalPattern::User(id) => principal.is_some_and(|principal| {
                id == principal.canonical_id || id == principal.access_key || id == principal.name
            }),
        });
        named != self.principals.negated
    }

    fn action_matches(&self, action: &str) -> bool {
        let named = self
            .actions
            .items
            .iter()
            .any(|pattern| glob_match(pattern, action, true));
        named != self.actions.negated
    }

    fn resource_matches(&self, resource: &str) -> bool {
        let named = self
            .resources
            .items
            .iter()
            .any(|pattern| glob_match(pattern, resource, false));
        named != self.resources.negated
    }
}

/// A string or a list of strings (IAM allows either wherever a list goes).
fn string_list(value: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    malformed(format!("{field} must be a string or a list of strings"))
                })
            })
            .collect(),
        _ => Err(malformed(format!(
            "{field} must be a string or a list of strings"
        ))),
    }
}

/// Exactly one of `positive` / `negative` (e.g. Action / NotAction); the list and whether it is
/// the negated form.
fn one_of<'v>(
    fields: &'v serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<(&'v Value, bool), PolicyError> {
    match (fields.get(positive), fields.get(negative)) {
        (Some(value), None) => Ok((value, false)),
        (None, Some(value)) => Ok((value, true)),
        (Some(_), Some(_)) => Err(malformed(format!(
            "A statement cannot have both {positive} and {negative}"
        ))),
        (None, None) => Err(malformed(format!("Missing required field {positive}"))),
    }
}

fn parse_statement(statement: &Value, bucket: &str) -> Result<Statement, PolicyError> {
    let Value::Object(fields) = statement else {
        return Err(malformed(
            "Statement must be an object or a list of objects",
        ));
    };
    for name in fields.keys() {
        if !matches!(
            name.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(malformed(format!("Unknown field {name}")));
        }
    }
    let effect = match fields.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => return Err(malformed(format!("Invalid effect: {other}"))),
        None => return Err(malformed("Missing required field Effect")),
    };
    let (principal, negated) = one_of(fields, "Principal", "NotPrincipal")?;
    if negated && effect == Effect::Allow {
        // IAM User Guide, NotPrincipal: only with Deny in resource-based policies.
        return Err(malformed("Allow with NotPrincipal is not supported."));
    }
    let principals = Matcher {
        items: parse_principals(principal)?,
        negated,
    };
    let (action, negated) = one_of(fields, "Action", "NotAction")?;
    let mut action_kinds = Vec::new();
    let mut action_patterns = Vec::new();
    for pattern in string_list(action, "Action")? {
        let named = actions_named(&pattern);
        if named.is_empty() {
            return Err(malformed("Policy has invalid action"));
        }
        action_kinds.extend(named.into_iter().map(|(_, kind)| kind));
        action_patterns.push(match pattern.split_once(':') {
            Some((_, name)) => name.to_string(),
            None => pattern,
        });
    }
    let actions = Matcher {
        items: action_patterns,
        negated,
    };
    let (resource, negated) = one_of(fields, "Resource", "NotResource")?;
    let resource_patterns = string_list(resource, "Resource")?;
    let mut resource_kinds = Vec::new();
    for pattern in &resource_patterns {
        resource_kinds.push(resource_kind(pattern, bucket)?);
    }
    // S3 refuses a statement none of whose actions can act on any of its resources (object
    // actions need an object ARN, bucket actions the bucket's).
    if !negated
        && !actions.negated
        && !action_kinds
            .iter()
            .any(|kind| resource_kinds.contains(kind))
    {
        return Err(malformed(
            "Action does not apply to any resource(s) in statement",
        ));
    }
    let conditions = match fields.get("Condition") {
        Some(block) => parse_conditions(block)?,
        None => Vec::new(),
    };
    Ok(Statement {
        effect,
        principals,
        actions,
        resources: Matcher {
            items: resource_patterns,
            negated,
        },
        conditions,
    })
}

/// `*`, `{"AWS": "*" | ARN | id | [...]}` or `{"CanonicalUser": id | [...]}`.
fn parse_principals(value: &Value) -> Result<Vec<PrincipalPattern>, PolicyError> {
    let invalid = || malformed("Invalid principal in policy");
    match value {
        Value::String(text) if text == "*" => Ok(vec![PrincipalPattern::Everyone]),
        Value::Object(kinds) if !kinds.is_empty() => {
            let mut patterns = Vec::new();
            for (kind, ids) in kinds {
                let ids = string_list(ids, "Principal").map_err(|_| invalid())?;
                for id in ids {
                    patterns.push(match kind.as_str() {
                        "AWS" if id == "*" => PrincipalPattern::Everyone,
                        "AWS" => PrincipalPattern::User(aws_principal(&id).ok_or_else(invalid)?),
                        "CanonicalUser" if !id.is_empty() => PrincipalPattern::User(id),
                        _ => return Err(invalid()),
                    });
                }
            }
            Ok(patterns)
        }
        _ => Err(invalid()),
    }
}

/// The user an `AWS` principal names: `arn:aws:iam::ACCOUNT:user/NAME` → NAME (any path before
/// it ignored), or an access key or canonical id given as is.
fn aws_principal(id: &str) -> Option<String> {
    if let Some(rest) = id.strip_prefix("arn:aws:iam::") {
        let (account, resource) = rest.split_once(':')?;
        if resource == "root" && !account.is_empty() {
            // An account: ringstore has none, so it names no user (kept, so the statement
            // stays as written and matches nobody).
            return Some(id.to_string());
        }
        let name = resource.strip_prefix("user/")?.rsplit('/').next()?;
        return (!name.is_empty()).then(|| name.to_string());
    }
    (!id.is_empty() && !id.contains(['*', ':', '/'])).then(|| id.to_string())
}

/// Whether `pattern` names the bucket itself or objects in it; `Policy has invalid resource`
/// for anything outside `bucket`.
fn resource_kind(pattern: &str, bucket: &str) -> Result<ResourceKind, PolicyError> {
    let invalid = || malformed("Policy has invalid resource");
    let rest = pattern.strip_prefix(S3_ARN_PREFIX).ok_or_else(invalid)?;
    let (bucket_part, kind) = match rest.split_once('/') {
        Some((bucket_part, _)) => (bucket_part, ResourceKind::Object),
        None => (rest, ResourceKind::Bucket),
    };
    if !glob_match(bucket_part, bucket, false) {
        return Err(invalid());
    }
    Ok(kind)
}

/// `{"Operator": {"key": value | [values]}, …}`, operators with `IfExists` and
/// `ForAnyValue:` / `ForAllValues:`.
fn parse_conditions(block: &Value) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = block else {
        return Err(malformed("Condition must be an object"));
    };
    let mut conditions = Vec::new();
    for (name, keys) in operators {
        let (qualifier, rest) = match name.split_once(':') {
            Some(("ForAnyValue", rest)) => (SetQualifier::ForAnyValue, rest),
            Some(("ForAllValues", rest)) => (SetQualifier::ForAllValues, rest),
            Some(_) => return Err(malformed(format!("Invalid Condition type : {name}"))),
            None => (SetQualifier::Single, name.as_str()),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let operator = ConditionOperator::parse(base)
            .ok_or_else(|| malformed(format!("Invalid Condition type : {name}")))?;
        let Value::Object(keys) = keys else {
            return Err(malformed(format!("Invalid Condition block for {name}")));
        };
        for (key, values) in keys {
            let values = match values {
                Value::Bool(flag) => vec![flag.to_string()],
                Value::Number(number) => vec![number.to_string()],
                other => string_list(other, "Condition value")?,
            };
            if let Some(bad) = values.iter().find(|value| !operator.accepts(value)) {
                return Err(malformed(format!(
                    "Invalid value {bad} for condition {name} on {key}"
                )));
            }
            if !key.contains(':') {
                return Err(malformed("Policy has an invalid condition key"));
            }
            conditions.push(Condition {
                operator,
                qualifier,
                if_exists,
                key: normalize_key(key),
                values,
            });
        }
    }
    Ok(conditions)
}

#[cfg(test)]
mod tests;
