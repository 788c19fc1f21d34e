//! Admin operations on users: list, show, create (the secret shown once), update (role,
//! status), rotate the secret, remove — the same metadata commands `ringstore user` applies.

use serde_json::{json, Value};

use super::error::AdminError;
use super::json_body::JsonBody;
use super::Answer;
use crate::meta::{AddUser, ListUsers, RemoveUser, UpdateUser, UserLookup, UserRecord};
use crate::s3::S3Context;

/// A user as the API shows it; the secret only when `with_secret` (creation and rotation).
pub fn user_json(user: &UserRecord, with_secret: bool) -> Value {
    let mut value = json!({
        "accessKey": user.access_key,
        "displayName": user.display_name,
        "email": user.email,
        "canonicalId": user.canonical_id,
        "admin": user.admin,
        "disabled": user.disabled,
        "createdMs": user.created_ms,
    });
    if with_secret {
        value["secretKey"] = Value::String(user.secret.clone());
    }
    value
}

/// The bootstrap admin (from the command line): listed, never changed through the API.
fn bootstrap_json(context: &S3Context) -> Value {
    let identity = &context.admin.identity;
    json!({
        "accessKey": identity.access_key,
        "displayName": identity.display_name,
        "email": null,
        "canonicalId": identity.canonical_id,
        "admin": true,
        "disabled": false,
        "createdMs": null,
        "bootstrap": true,
    })
}

/// Refuses a change to the bootstrap admin, whose key and secret come from the command line.
fn refuse_bootstrap(context: &S3Context, access_key: &str) -> Result<(), AdminError> {
    if access_key == context.admin.identity.access_key {
        return Err(AdminError::BootstrapUser);
    }
    Ok(())
}

/// `GET users`: the bootstrap admin, then every stored user, oldest first.
pub async fn list(context: &S3Context) -> Result<Answer, AdminError> {
    let users = context.meta.call(ListUsers).await?;
    let mut listed = vec![bootstrap_json(context)];
    listed.extend(users.iter().map(|user| user_json(user, false)));
    Ok(Answer::ok(json!({ "users": listed })))
}

/// `GET users/{accessKey}`.
pub async fn get(context: &S3Context, access_key: &str) -> Result<Answer, AdminError> {
    if access_key == context.admin.identity.access_key {
        return Ok(Answer::ok(bootstrap_json(context)));
    }
    match context
        .meta
        .get_user(UserLookup::AccessKey(access_key.to_string()))
        .await?
    {
        Some(user) => Ok(Answer::ok(user_json(&user, false))),
        None => Err(AdminError::NoSuchUser(access_key.to_string())),
    }
}

/// `POST users` with `{"displayName", "email"?, "admin"?}`: 201 with the secret, shown this once.
pub async fn create(context: &S3Context, body: &[u8]) -> Result<Answer, AdminError> {
    let mut body = JsonBody::parse(body)?;
    let display_name = body
        .string("displayName")?
        .ok_or_else(|| AdminError::InvalidRequest("displayName is required".into()))?;
    let email = body.string("email")?;
    let admin = body.boolean("admin")?.unwrap_or(false);
    body.finish()?;
    // The bootstrap admin is listed under its access key as its name: names stay unique.
    if display_name == context.admin.identity.display_name {
        return Err(AdminError::UserAlreadyExists);
    }
    let user = context
        .meta
        .call(AddUser {
            display_name,
            email,
            admin,
            created_ms: crate::s3::time::now_ms(),
        })
        .await??;
    tracing::info!(access_key = %user.access_key, admin, "user created");
    Ok(Answer::created(user_json(&user, true)))
}

/// `PATCH users/{accessKey}` with `{"admin"?, "disabled"?}`.
pub async fn update(
    context: &S3Context,
    access_key: &str,
    requester: &str,
    body: &[u8],
) -> Result<Answer, AdminError> {
    refuse_bootstrap(context, access_key)?;
    let mut body = JsonBody::parse(body)?;
    let admin = body.boolean("admin")?;
    let disabled = body.boolean("disabled")?;
    body.finish()?;
    if access_key == requester && (admin == Some(false) || disabled == Some(true)) {
        // Locking oneself out by mistake is the common slip; another admin can still do it.
        return Err(AdminError::SelfLockout(
            "take their own admin role or disable themselves",
        ));
    }
    let user = context
        .meta
        .call(UpdateUser {
            access_key: access_key.to_string(),
            admin,
            disabled,
            rotate_secret: false,
        })
        .await??;
    tracing::info!(access_key = %user.access_key, admin = user.admin, disabled = user.disabled, "user updated");
    Ok(Answer::ok(user_json(&user, false)))
}

/// `POST users/{accessKey}/rotate`: a fresh secret, shown this once; the old one stops working.
pub async fn rotate(context: &S3Context, access_key: &str) -> Result<Answer, AdminError> {
    refuse_bootstrap(context, access_key)?;
    let user = context
        .meta
        .call(UpdateUser {
            access_key: access_key.to_string(),
            rotate_secret: true,
            ..Default::default()
        })
        .await??;
    tracing::info!(access_key = %user.access_key, "user secret rotated");
    Ok(Answer::ok(user_json(&user, true)))
}

/// `DELETE users/{accessKey}`: 204; what the user owns stays.
pub async fn remove(
    context: &S3Context,
    access_key: &str,
    requester: &str,
) -> Result<Answer, AdminError> {
    refuse_bootstrap(context, access_key)?;
    if access_key == requester {
        return Err(AdminError::SelfLockout("remove themselves"));
    }
    context
        .meta
        .call(RemoveUser(access_key.to_string()))
        .await??;
    tracing::info!(access_key = %access_key, "user removed");
    Ok(Answer::no_content())
}
