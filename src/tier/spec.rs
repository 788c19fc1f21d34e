//! `--tier NAME=URL`, parsed: a tier's name (shown as the storage class of the objects it holds)
//! and where it is — `s3://bucket/prefix?endpoint=…&region=…&path_style=true`,
//! `azure://account/container/prefix?endpoint=…` or `gcs://bucket/prefix`. Credentials never
//! come from here (the command line is visible to every user of the host): see `connect`.

use std::fmt;

/// Longest tier name (it becomes a storage class and part of environment variable names).
pub const TIER_NAME_BYTES_MAX: usize = 32;

/// AWS's own storage classes (S3 API Reference, PutObject `x-amz-storage-class`): a tier may not
/// take one of these names, or a client could not tell a moved object from one it stored so.
pub const AWS_STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
];

/// One remote tier as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct TierSpec {
    /// `[A-Z][A-Z0-9_]*`: the storage class its objects show, and the `<NAME>` of
    /// `RINGSTORE_TIER_<NAME>_*`.
    pub name: String,
    /// Where its objects go.
    pub location: TierLocation,
}

/// A tier's service, container and name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierLocation {
    /// AWS S3 or any S3-compatible store.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Name prefix inside it ('' for none), without slashes at either end.
        prefix: String,
        /// `endpoint=` (e.g. `http://127.0.0.1:8333`); AWS's own when absent.
        endpoint: Option<String>,
        /// `region=`; the credential chain's (or us-east-1) when absent.
        region: Option<String>,
        /// `path_style=true`: bucket in the path rather than the host name.
        path_style: bool,
    },
    /// Azure Blob Storage.
    Azure {
        /// Storage account.
        account: String,
        /// Container.
        container: String,
        /// Name prefix inside it.
        prefix: String,
        /// `endpoint=` (e.g. Azurite's `http://127.0.0.1:10000/devstoreaccount1`).
        endpoint: Option<String>,
    },
    /// Google Cloud Storage.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Name prefix inside it.
        prefix: String,
    },
}

impl TierLocation {
    /// The name prefix inside the container.
    pub fn prefix(&self) -> &str {
        match self {
            TierLocation::S3 { prefix, .. }
            | TierLocation::Azure { prefix, .. }
            | TierLocation::Gcs { prefix, .. } => prefix,
        }
    }
}

impl fmt::Debug for TierSpec {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No credentials are held here; the location is safe to log.
        formatter
            .debug_struct("TierSpec")
            .field("name", &self.name)
            .field("location", &self.location)
            .finish()
    }
}

/// Why a `--tier` value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TierSpecError {
    /// Not `NAME=URL`.
    #[error("--tier wants NAME=URL, got {0:?}")]
    NotNameEqualsUrl(String),
    /// The name breaks the rules.
    #[error("tier name {0:?}: use 1-32 of A-Z, 0-9 and _, starting with a letter, and not one of AWS's storage classes")]
    BadName(String),
    /// The URL does not parse.
    #[error("tier {name}: {url:?} is not a URL ({reason})")]
    BadUrl {
        /// The tier.
        name: String,
        /// What was given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// A scheme other than s3, azure and gcs.
    #[error("tier {name}: scheme {scheme:?} is not one of s3, azure, gcs")]
    UnknownScheme {
        /// The tier.
        name: String,
        /// The scheme given.
        scheme: String,
    },
    /// The URL lacks its bucket, account or container.
    #[error("tier {name}: {what} missing in the URL")]
    Missing {
        /// The tier.
        name: String,
        /// What is missing.
        what: &'static str,
    },
    /// A query parameter this scheme does not take (never silently ignored).
    #[error("tier {name}: unknown URL parameter {parameter:?} for {scheme}:// (known: {known})")]
    UnknownParameter {
        /// The tier.
        name: String,
        /// The scheme.
        scheme: &'static str,
        /// The parameter.
        parameter: String,
        /// What the scheme takes.
        known: &'static str,
    },
    /// A parameter given twice.
    #[error("tier {name}: URL parameter {parameter:?} given twice")]
    DuplicateParameter {
        /// The tier.
        name: String,
        /// The parameter.
        parameter: String,
    },
    /// An empty or meaningless value.
    #[error("tier {name}: {parameter} has no usable value")]
    BadValue {
        /// The tier.
        name: String,
        /// The parameter (or URL part).
        parameter: &'static str,
    },
    /// `path_style=` other than true or false.
    #[error("tier {name}: path_style must be true or false")]
    BadPathStyle {
        /// The tier.
        name: String,
    },
    /// Credentials in the URL (they would show in `ps` and in logs).
    #[error(
        "tier {name}: credentials do not belong in the URL; use RINGSTORE_TIER_{name}_* variables"
    )]
    CredentialsInUrl {
        /// The tier.
        name: String,
    },
    /// Two tiers with one name.
    #[error("tier {0} is given twice")]
    Duplicate(String),
}

/// Parses every `--tier` value; names must be unique.
pub fn parse_all(values: &[String]) -> Result<Vec<TierSpec>, TierSpecError> {
    let mut specs: Vec<TierSpec> = Vec::with_capacity(values.len());
    for value in values {
        let spec = parse(value)?;
        if specs.iter().any(|known| known.name == spec.name) {
            return Err(TierSpecError::Duplicate(spec.name));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// Parses one `NAME=URL`.
pub fn parse(value: &str) -> Result<TierSpec, TierSpecError> {
    let (name, url) = value
        .split_once('=')
        .ok_or_else(|| TierSpecError::NotNameEqualsUrl(value.to_string()))?;
    check_name(name)?;
    let name = name.to_string();
    let parsed = url::Url::parse(url).map_err(|error| TierSpecError::BadUrl {
        name: name.clone(),
        url: url.to_string(),
        reason: error.to_string(),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TierSpecError::CredentialsInUrl { name });
    }
    if parsed.fragment().is_some() {
        return Err(TierSpecError::BadValue {
            name,
            parameter: "#fragment",
        });
    }
    let mut seen: Vec<String> = Vec::new();
    for (key, _) in parsed.query_pairs() {
        if seen.iter().any(|known| *known == key) {
            return Err(TierSpecError::DuplicateParameter {
                name,
                parameter: key.into_owned(),
            });
        }
        seen.push(key.into_owned());
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    let path = parsed.path().trim_matches('/').to_string();
    let missing = |what| TierSpecError::Missing {
        name: name.clone(),
        what,
    };
    let location = match parsed.scheme() {
        "s3" => {
            let mut endpoint = None;
            let mut region = None;
            let mut path_style = false;
            for (key, value) in parsed.query_pairs() {
                match key.as_ref() {
                    "endpoint" => endpoint = Some(checked_endpoint(&name, &value)?),
                    "region" if !value.is_empty() => region = Some(value.into_owned()),
                    "region" => {
                        return Err(TierSpecError::BadValue {
                            name,
                            parameter: "region",
                        })
                    }
                    "path_style" => {
                        path_style = match value.as_ref() {
                            "true" => true,
                            "false" => false,
                            _ => return Err(TierSpecError::BadPathStyle { name }),
                        }
                    }
                    _ => return Err(unknown(&name, "s3", &key, "endpoint, region, path_style")),
                }
            }
            if host.is_empty() {
                return Err(missing("the bucket"));
            }
            TierLocation::S3 {
                bucket: host,
                prefix: path,
                endpoint,
                region,
                path_style,
            }
        }
        "azure" => {
            let mut endpoint = None;
            for (key, value) in parsed.query_pairs() {
                match key.as_ref() {
                    "endpoint" => endpoint = Some(checked_endpoint(&name, &value)?),
                    _ => return Err(unknown(&name, "azure", &key, "endpoint")),
                }
            }
            if host.is_empty() {
                return Err(missing("the storage account"));
            }
            let (container, prefix) = path.split_once('/').unwrap_or((path.as_str(), ""));
            if container.is_empty() {
                return Err(missing("the container"));
            }
            TierLocation::Azure {
                account: host,
                container: container.to_string(),
                prefix: prefix.to_string(),
                endpoint,
            }
        }
        "gcs" => {
            if let Some((key, _)) = parsed.query_pairs().next() {
                return Err(unknown(&name, "gcs", &key, "none"));
            }
            if host.is_empty() {
                return Err(missing("the bucket"));
            }
            TierLocation::Gcs {
                bucket: host,
                prefix: path,
            }
        }
        scheme => {
            return Err(TierSpecError::UnknownScheme {
                name,
                scheme: scheme.to_string(),
            })
        }
    };
    Ok(TierSpec { name, location })
}

/// An `endpoint=` value: an http or https URL with a host and no credentials (they would show in
/// `ps` and in logs), kept as given.
fn checked_endpoint(name: &str, value: &str) -> Result<String, TierSpecError> {
    let parsed = url::Url::parse(value).map_err(|error| TierSpecError::BadUrl {
        name: name.to_string(),
        url: value.to_string(),
        reason: error.to_string(),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TierSpecError::CredentialsInUrl {
            name: name.to_string(),
        });
    }
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(TierSpecError::BadUrl {
            name: name.to_string(),
            url: value.to_string(),
            reason: "an endpoint is an http:// or https:// URL with a host".to_string(),
        });
    }
    Ok(value.to_string())
}

fn unknown(name: &str, scheme: &'static str, key: &str, known: &'static str) -> TierSpecError {
    TierSpecError::UnknownParameter {
        name: name.to_string(),
        scheme,
        parameter: key.to_string(),
        known,
    }
}

/// Whether `name` may name a tier (see `TierSpec::name`).
pub fn check_name(name: &str) -> Result<(), TierSpecError> {
    let well_formed = !name.is_empty()
        && name.len() <= TIER_NAME_BYTES_MAX
        && name.as_bytes()[0].is_ascii_uppercase()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_');
    if well_formed && !AWS_STORAGE_CLASSES.contains(&name) {
        Ok(())
    } else {
        Err(TierSpecError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        // Goal: the three URL forms the README documents parse into their parts.
        let s3 = parse("COLD=s3://backups/ringstore/node?endpoint=http://127.0.0.1:8333&region=eu-west-1&path_style=true").unwrap();
        assert_eq!(s3.name, "COLD");
        assert_eq!(
            s3.location,
            TierLocation::S3 {
                bucket: "backups".into(),
                prefix: "ringstore/node".into(),
                endpoint: Some("http://127.0.0.1:8333".into()),
                region: Some("eu-west-1".into()),
                path_style: true,
            }
        );
        let azure = parse(
            "AZ=azure://devstoreaccount1/tier/p?endpoint=http://127.0.0.1:10000/devstoreaccount1",
        )
        .unwrap();
        assert_eq!(
            azure.location,
            TierLocation::Azure {
                account: "devstoreaccount1".into(),
                container: "tier".into(),
                prefix: "p".into(),
                endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
            }
        );
        let gcs = parse("G1=gcs://bucket").unwrap();
        assert_eq!(
            gcs.location,
            TierLocation::Gcs {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        // Goal: every malformed value is refused with its own error, never half-used.
        assert!(matches!(
            parse("COLD"),
            Err(TierSpecError::NotNameEqualsUrl(_))
        ));
        for name in [
            "cold",
            "1COLD",
            "STANDARD",
            "GLACIER",
            "",
            &"A".repeat(33),
            "CO-LD",
        ] {
            assert!(
                matches!(
                    parse(&format!("{name}=s3://b")),
                    Err(TierSpecError::BadName(_))
                ),
                "{name}"
            );
        }
        assert!(matches!(
            parse("C=ftp://b"),
            Err(TierSpecError::UnknownScheme { .. })
        ));
        assert!(matches!(
            parse("C=s3://b?endpont=x"),
            Err(TierSpecError::UnknownParameter { .. })
        ));
        assert!(matches!(
            parse("C=s3://b?path_style=yes"),
            Err(TierSpecError::BadPathStyle { .. })
        ));
        assert!(matches!(
            parse("C=s3://key:secret@b"),
            Err(TierSpecError::CredentialsInUrl { .. })
        ));
        assert!(matches!(
            parse("C=azure://account"),
            Err(TierSpecError::Missing { .. })
        ));
        assert!(matches!(
            parse("C=gcs://b?x=1"),
            Err(TierSpecError::UnknownParameter { .. })
        ));
        assert!(matches!(
            parse_all(&["C=s3://a".into(), "C=s3://b".into()]),
            Err(TierSpecError::Duplicate(_))
        ));
    }
}
