//! `ringstore bucket tier BUCKET [NAME --after DURATION | --local]`: sets, removes or shows a
//! bucket's placement on a remote tier (issue 24), in the metadata the running server reads, as
//! `ringstore user` does. The gateway form is `--after 0s`: every version moves at once.

use std::process::ExitCode;

use argh::FromArgs;
use ringstore::meta::{ListBucketTiers, MetaError, PutBucketTier, TierPlacement};

/// ringstore bucket: bucket settings that S3 has no request for. Works while the server runs.
#[derive(FromArgs)]
pub struct BucketArgs {
    /// directory holding the metadata file (default ./data; env RINGSTORE_DATA_DIR)
    #[argh(option)]
    data_dir: Option<String>,
    #[argh(subcommand)]
    command: BucketCommand,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum BucketCommand {
    Tier(BucketTier),
}

/// place a bucket's object bytes on a remote tier (--tier NAME=URL of the server), moved once
/// each version is --after old; with --local, stop moving (moved versions stay remote); with
/// neither, show the placement
#[derive(FromArgs)]
#[argh(subcommand, name = "tier")]
struct BucketTier {
    /// bucket name
    #[argh(positional)]
    bucket: String,
    /// tier name, as given to the server's --tier
    #[argh(positional)]
    tier: Option<String>,
    /// age at which a version moves: 0s (at once, a gateway), or a number with s, m, h or d
    #[argh(option)]
    after: Option<String>,
    /// remove the placement
    #[argh(switch)]
    local: bool,
}

/// Milliseconds in `text`: a whole number with a unit of s, m, h or d.
fn parse_duration_ms(text: &str) -> Option<i64> {
    let unit_ms: i64 = match text.chars().last()? {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    let number: i64 = text[..text.len() - 1].parse().ok()?;
    (0..=36_500_i64 * 86_400_000 / unit_ms)
        .contains(&number)
        .then(|| number * unit_ms)
}

fn usage(message: String) -> Result<ExitCode, anyhow::Error> {
    eprintln!("ringstore: {message}");
    Ok(ExitCode::from(2))
}

/// Runs `ringstore bucket …`.
pub fn run(args: BucketArgs, default_data_dir: &str) -> Result<ExitCode, anyhow::Error> {
    let data_dir = std::path::PathBuf::from(
        args.data_dir
            .or_else(|| std::env::var("RINGSTORE_DATA_DIR").ok())
            .unwrap_or_else(|| default_data_dir.to_string()),
    );
    let layout = ringstore::storage::Layout::new(data_dir);
    if !layout.meta_path().exists() {
        return usage(format!("no metadata at {}", layout.meta_path().display()));
    }
    let mut store = ringstore::meta::MetaStore::open(&layout.meta_path())?;
    let BucketCommand::Tier(tier) = args.command;
    let placement = match (tier.tier, tier.after, tier.local) {
        (None, None, false) => {
            let placements = store.apply(&ListBucketTiers)?;
            match placements.iter().find(|(bucket, _)| *bucket == tier.bucket) {
                Some((_, placement)) => println!(
                    "{}\t{}\tafter {} s",
                    tier.bucket,
                    placement.tier,
                    placement.after_ms / 1000
                ),
                None => println!("{}\tlocal", tier.bucket),
            }
            return Ok(ExitCode::SUCCESS);
        }
        (None, None, true) => None,
        (Some(name), Some(after), false) => {
            if let Err(error) = ringstore::tier::spec::check_name(&name) {
                return usage(error.to_string());
            }
            let Some(after_ms) = parse_duration_ms(&after) else {
                return usage(format!(
                    "invalid --after {after:?}: expected a whole number with s, m, h or d (0s: at once)"
                ));
            };
            Some(TierPlacement {
                tier: name,
                after_ms,
            })
        }
        _ => return usage("give NAME with --after, or --local, or neither".to_string()),
    };
    match store.apply(&PutBucketTier {
        bucket: tier.bucket.clone(),
        placement: placement.clone(),
    }) {
        Ok(()) => {}
        Err(MetaError::NoSuchBucket) => return usage(format!("no bucket {}", tier.bucket)),
        Err(error) => return Err(error.into()),
    }
    match placement {
        Some(placement) => {
            println!(
                "{}\t{}\tafter {} s",
                tier.bucket,
                placement.tier,
                placement.after_ms / 1000
            );
            eprintln!(
                "ringstore: versions move once the server runs with --tier {}=URL",
                placement.tier
            );
        }
        None => println!("{}\tlocal", tier.bucket),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        // Goal: the --after forms the README shows, and refusals of the rest.
        assert_eq!(parse_duration_ms("0s"), Some(0));
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("15m"), Some(900_000));
        assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
        assert_eq!(parse_duration_ms("30d"), Some(2_592_000_000));
        for bad in ["", "s", "10", "-1s", "1.5h", "1w", "99999999999999d"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
