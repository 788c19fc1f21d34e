//! `ringstore restore --from-tier NAME=URL --data-dir DIR [--node ID]`: a replacement host's
//! metadata from the newest snapshot a lost node shipped to its tier (issue 24), so it serves the
//! same buckets; versions whose bytes were only local at the loss are counted and answer 500.

use std::process::ExitCode;

use argh::FromArgs;

/// ringstore restore: rebuild a data dir's metadata from a tier after losing the host.
#[derive(FromArgs)]
pub struct RestoreArgs {
    /// the tier, NAME=URL as the lost server's --tier (credentials from RINGSTORE_TIER_<NAME>_* or the cloud's chain)
    #[argh(option)]
    from_tier: String,
    /// the new, empty data dir (default ./data; env RINGSTORE_DATA_DIR)
    #[argh(option)]
    data_dir: Option<String>,
    /// the lost node's id, when several nodes ship to the same tier
    #[argh(option)]
    node: Option<String>,
}

/// Runs `ringstore restore`.
pub fn run(args: RestoreArgs, default_data_dir: &str) -> Result<ExitCode, anyhow::Error> {
    let spec = match ringstore::tier::spec::parse(&args.from_tier) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("ringstore: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let data_dir = args
        .data_dir
        .or_else(|| std::env::var("RINGSTORE_DATA_DIR").ok())
        .unwrap_or_else(|| default_data_dir.to_string());
    let layout = ringstore::storage::Layout::new(data_dir);
    let report = ringstore::tier::metadata_shipping::restore(&spec, args.node.as_deref(), &layout)?;
    println!(
        "restored node {} into {}",
        report.node_id,
        layout.root().display()
    );
    println!(
        "versions moved after the snapshot, found on the tier and switched to it: {}",
        report.relinked
    );
    println!(
        "versions whose bytes were only on the lost host: {} (they answer 500 and are listed in missing_files once the first start's scrub has run)",
        report.local_versions_lost
    );
    println!(
        "start the server on this data dir with the same --tier {} (and the same --sse-master-key-file, if any)",
        spec.name
    );
    Ok(ExitCode::SUCCESS)
}
