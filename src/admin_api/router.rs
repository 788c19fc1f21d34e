//! The admin API's routes: a pure function from method and path to an `AdminOperation`.

use crate::http::Method;

/// Where the admin API lives. `_` cannot begin (or appear in) an S3 bucket name (S3 User Guide,
/// "Bucket naming rules": lower-case letters, digits, dots and hyphens, beginning with a letter or
/// digit), so a path-style request under it never names a bucket; a virtual-hosted request (the
/// bucket in `Host`) is S3's whatever its path.
pub const ADMIN_API_PREFIX: &str = "/_ringstore/admin/v1/";

/// Every admin operation, by the name it is logged and documented under (OpenAPI `operationId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOperation {
    /// `GET openapi.json` (unauthenticated: the API's description holds no secret).
    GetOpenApi,
    /// `GET info`.
    GetServerInfo,
    /// `GET usage`.
    GetUsage,
    /// `GET errors`.
    ListRecentErrors,
    /// `GET users`.
    ListUsers,
    /// `POST users`.
    CreateUser,
    /// `GET users/{accessKey}`.
    GetUser(String),
    /// `PATCH users/{accessKey}`.
    UpdateUser(String),
    /// `DELETE users/{accessKey}`.
    DeleteUser(String),
    /// `POST users/{accessKey}/rotate`.
    RotateUserSecret(String),
    /// `GET buckets`.
    ListBuckets,
    /// `POST buckets`.
    CreateBucket,
    /// `GET buckets/{name}`.
    GetBucket(String),
    /// `DELETE buckets/{name}`.
    DeleteBucket(String),
    /// `PUT buckets/{name}/quota`.
    PutBucketQuota(String),
    /// `DELETE buckets/{name}/quota`.
    DeleteBucketQuota(String),
}

impl AdminOperation {
    /// The operation's name (logs, metrics, OpenAPI `operationId`).
    pub fn name(&self) -> &'static str {
        use AdminOperation::*;
        match self {
            GetOpenApi => "AdminGetOpenApi",
            GetServerInfo => "AdminGetServerInfo",
            GetUsage => "AdminGetUsage",
            ListRecentErrors => "AdminListRecentErrors",
            ListUsers => "AdminListUsers",
            CreateUser => "AdminCreateUser",
            GetUser(_) => "AdminGetUser",
            UpdateUser(_) => "AdminUpdateUser",
            DeleteUser(_) => "AdminDeleteUser",
            RotateUserSecret(_) => "AdminRotateUserSecret",
            ListBuckets => "AdminListBuckets",
            CreateBucket => "AdminCreateBucket",
            GetBucket(_) => "AdminGetBucket",
            DeleteBucket(_) => "AdminDeleteBucket",
            PutBucketQuota(_) => "AdminPutBucketQuota",
            DeleteBucketQuota(_) => "AdminDeleteBucketQuota",
        }
    }
}

/// Why a request matched no operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// No such resource (404).
    NotFound,
    /// The resource exists but not with this method (405).
    MethodNotAllowed,
}

/// The operation `method` on `path` (the part after `ADMIN_API_PREFIX`, still percent-encoded:
/// access keys and bucket names need no encoding, so an encoded segment names nothing).
pub fn route(method: Method, path: &str) -> Result<AdminOperation, RouteError> {
    use AdminOperation::*;
    let segments: Vec<&str> = path.split('/').collect();
    let named = |name: &str| -> Result<String, RouteError> {
        if name.is_empty() || name.contains('%') {
            Err(RouteError::NotFound)
        } else {
            Ok(name.to_string())
        }
    };
    let pick = |choices: &[(Method, AdminOperation)]| {
        choices
            .iter()
            .find(|(allowed, _)| *allowed == method)
            .map(|(_, operation)| operation.clone())
            .ok_or(RouteError::MethodNotAllowed)
    };
    match segments.as_slice() {
        ["openapi.json"] => pick(&[(Method::Get, GetOpenApi)]),
        ["info"] => pick(&[(Method::Get, GetServerInfo)]),
        ["usage"] => pick(&[(Method::Get, GetUsage)]),
        ["errors"] => pick(&[(Method::Get, ListRecentErrors)]),
        ["users"] => pick(&[(Method::Get, ListUsers), (Method::Post, CreateUser)]),
        ["users", key] => {
            let key = named(key)?;
            pick(&[
                (Method::Get, GetUser(key.clone())),
                (Method::Patch, UpdateUser(key.clone())),
                (Method::Delete, DeleteUser(key)),
            ])
        }
        ["users", key, "rotate"] => pick(&[(Method::Post, RotateUserSecret(named(key)?))]),
        ["buckets"] => pick(&[(Method::Get, ListBuckets), (Method::Post, CreateBucket)]),
        ["buckets", name] => {
            let name = named(name)?;
            pick(&[
                (Method::Get, GetBucket(name.clone())),
                (Method::Delete, DeleteBucket(name)),
            ])
        }
        ["buckets", name, "quota"] => {
            let name = named(name)?;
            pick(&[
                (Method::Put, PutBucketQuota(name.clone())),
                (Method::Delete, DeleteBucketQuota(name)),
            ])
        }
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: every documented route reaches its operation, with its path parameter; other
    // methods are 405 and other paths 404.
    #[test]
    fn routes_the_documented_table() {
        use AdminOperation::*;
        let table = [
            (Method::Get, "openapi.json", GetOpenApi),
            (Method::Get, "info", GetServerInfo),
            (Method::Get, "usage", GetUsage),
            (Method::Get, "errors", ListRecentErrors),
            (Method::Get, "users", ListUsers),
            (Method::Post, "users", CreateUser),
            (Method::Get, "users/AKIA", GetUser("AKIA".into())),
            (Method::Patch, "users/AKIA", UpdateUser("AKIA".into())),
            (Method::Delete, "users/AKIA", DeleteUser("AKIA".into())),
            (
                Method::Post,
                "users/AKIA/rotate",
                RotateUserSecret("AKIA".into()),
            ),
            (Method::Get, "buckets", ListBuckets),
            (Method::Post, "buckets", CreateBucket),
            (Method::Get, "buckets/b1", GetBucket("b1".into())),
            (Method::Delete, "buckets/b1", DeleteBucket("b1".into())),
            (Method::Put, "buckets/b1/quota", PutBucketQuota("b1".into())),
            (
                Method::Delete,
                "buckets/b1/quota",
                DeleteBucketQuota("b1".into()),
            ),
        ];
        for (method, path, operation) in table {
            assert_eq!(route(method, path), Ok(operation), "{path}");
        }
        assert_eq!(
            route(Method::Put, "users"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            route(Method::Get, "users/AKIA/rotate"),
            Err(RouteError::MethodNotAllowed)
        );
        for path in [
            "",
            "users/",
            "users/a/b",
            "nothing",
            "buckets//quota",
            "users/A%2FB",
        ] {
            assert_eq!(
                route(Method::Get, path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }
}
