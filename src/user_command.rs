//! `ringstore user …`: adds, lists, removes, disables, enables, rotates and promotes the users
//! who may sign requests, in the metadata the running server reads (a change takes effect within
//! a second).

use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;

use crate::{setting, DEFAULT_DATA_DIR};

/// ringstore user: manage the users who may sign requests (besides the bootstrap admin given by
/// --access-key / --secret-key). Works while the server runs; a removed key stops working within a
/// second.
#[derive(FromArgs)]
pub struct UserArgs {
    /// directory holding the metadata file (default ./data; env RINGSTORE_DATA_DIR)
    #[argh(option)]
    data_dir: Option<String>,
    #[argh(subcommand)]
    command: UserCommand,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum UserCommand {
    Add(UserAdd),
    List(UserList),
    Remove(UserRemove),
    Disable(UserDisable),
    Enable(UserEnable),
    Rotate(UserRotate),
    SetAdmin(UserSetAdmin),
}

/// create a user with a fresh access key and secret; the secret is shown this once
#[derive(FromArgs)]
#[argh(subcommand, name = "add")]
struct UserAdd {
    /// display name (letters, digits, -_.@+=,; unique)
    #[argh(positional)]
    name: String,
    /// email address ACL grants may name instead of the canonical id (unique)
    #[argh(option)]
    email: Option<String>,
    /// give the user the admin role (the admin API and console)
    #[argh(switch)]
    admin: bool,
}

/// list users (access key, canonical id, name, email, role, status); secrets are never shown again
#[derive(FromArgs)]
#[argh(subcommand, name = "list")]
struct UserList {}

/// remove a user by access key; their buckets and objects stay
#[derive(FromArgs)]
#[argh(subcommand, name = "remove")]
struct UserRemove {
    /// access key of the user to remove
    #[argh(positional)]
    access_key: String,
}

/// disable a user: their key signs nothing until enabled again
#[derive(FromArgs)]
#[argh(subcommand, name = "disable")]
struct UserDisable {
    /// access key of the user
    #[argh(positional)]
    access_key: String,
}

/// enable a disabled user
#[derive(FromArgs)]
#[argh(subcommand, name = "enable")]
struct UserEnable {
    /// access key of the user
    #[argh(positional)]
    access_key: String,
}

/// replace a user's secret key with a fresh one (shown this once); the access key stays
#[derive(FromArgs)]
#[argh(subcommand, name = "rotate")]
struct UserRotate {
    /// access key of the user
    #[argh(positional)]
    access_key: String,
}

/// give (true) or take (false) the admin role
#[derive(FromArgs)]
#[argh(subcommand, name = "set-admin")]
struct UserSetAdmin {
    /// access key of the user
    #[argh(positional)]
    access_key: String,
    /// true or false
    #[argh(positional)]
    admin: bool,
}

/// Prints a user's fields, one `name: value` line each (the secret only when `secret` is set).
fn print_user(user: &ringstore::meta::UserRecord, secret: bool) {
    println!("access_key:   {}", user.access_key);
    if secret {
        println!("secret_key:   {}", user.secret);
    }
    println!("canonical_id: {}", user.canonical_id);
    println!("display_name: {}", user.display_name);
    if let Some(email) = &user.email {
        println!("email:        {email}");
    }
    println!("admin:        {}", user.admin);
    println!("disabled:     {}", user.disabled);
    if secret {
        eprintln!("ringstore: the secret key is shown only now; store it safely.");
    }
}

/// Runs `ringstore user …`: the same metadata commands the admin API sends, applied to the data
/// dir's metadata file directly (SQLite's locking keeps this process and a running server
/// consistent; the server's per-core user caches pick changes up within `USER_CACHE_TTL_MS`).
/// Runs `ringstore user …` on the data dir's metadata.
pub fn run(args: UserArgs) -> Result<ExitCode, anyhow::Error> {
    use ringstore::meta::users::UserError;
    use ringstore::meta::{AddUser, ListUsers, RemoveUser, UpdateUser};
    let data_dir = PathBuf::from(setting(
        args.data_dir,
        "RINGSTORE_DATA_DIR",
        DEFAULT_DATA_DIR,
    ));
    std::fs::create_dir_all(&data_dir)?;
    let layout = ringstore::storage::Layout::new(data_dir);
    let mut store = ringstore::meta::MetaStore::open(&layout.meta_path())?;
    let refused = |error: UserError| -> Result<ExitCode, anyhow::Error> {
        match error {
            UserError::Meta(_) | UserError::Random(_) => Err(error.into()),
            _ => {
                eprintln!("ringstore: {error}");
                Ok(ExitCode::from(2))
            }
        }
    };
    let update = |access_key: String| UpdateUser {
        access_key,
        ..Default::default()
    };
    let (command, show_secret) = match args.command {
        UserCommand::Add(add) => {
            let added = store.apply(&AddUser {
                display_name: add.name,
                email: add.email,
                admin: add.admin,
                created_ms: ringstore::s3::time::now_ms(),
            })?;
            return match added {
                Ok(user) => {
                    print_user(&user, true);
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => refused(error),
            };
        }
        UserCommand::List(_) => {
            println!("ACCESS_KEY\tCANONICAL_ID\tNAME\tEMAIL\tADMIN\tDISABLED");
            for user in store.apply(&ListUsers)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    user.access_key,
                    user.canonical_id,
                    user.display_name,
                    user.email.as_deref().unwrap_or("-"),
                    user.admin,
                    user.disabled
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        UserCommand::Remove(remove) => {
            return match store.apply(&RemoveUser(remove.access_key.clone()))? {
                Ok(()) => {
                    println!("removed {}", remove.access_key);
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => refused(error),
            };
        }
        UserCommand::Disable(user) => (
            UpdateUser {
                disabled: Some(true),
                ..update(user.access_key)
            },
            false,
        ),
        UserCommand::Enable(user) => (
            UpdateUser {
                disabled: Some(false),
                ..update(user.access_key)
            },
            false,
        ),
        UserCommand::Rotate(user) => (
            UpdateUser {
                rotate_secret: true,
                ..update(user.access_key)
            },
            true,
        ),
        UserCommand::SetAdmin(user) => (
            UpdateUser {
                admin: Some(user.admin),
                ..update(user.access_key)
            },
            false,
        ),
    };
    match store.apply(&command)? {
        Ok(user) => {
            print_user(&user, show_secret);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused(error),
    }
}
