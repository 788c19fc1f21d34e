//! The server's own CPU time, read from `/proc/<pid>/stat` (utime + stime, every thread), so CPU
//! per operation holds however the machine's cores are shared between server and load generator.

use anyhow::{bail, Context, Result};

/// Parses `--server-pid`: one pid or several, comma-separated.
pub fn parse_pids(text: &str) -> Result<Vec<u32>, String> {
    text.split(',')
        .map(|pid| {
            pid.trim()
                .parse()
                .map_err(|_| format!("{pid:?} is not a process id"))
        })
        .collect()
}

/// CPU seconds the processes `pids` have used so far (user + system, all their threads).
///
/// Errors: no such process, or a `stat` line that does not parse.
pub fn cpu_seconds(pids: &[u32]) -> Result<f64> {
    pids.iter().map(|&pid| process_cpu_seconds(pid)).sum()
}

/// CPU seconds one process has used so far.
fn process_cpu_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| {
        format!("read {path}: is --server-pid a running process on this machine?")
    })?;
    // The command name (field 2) is in parentheses and may hold spaces; fields 14 and 15 (utime,
    // stime, in clock ticks) are the 12th and 13th after it (proc(5)).
    let after_name = stat
        .rfind(')')
        .map(|end| &stat[end + 1..])
        .context("no command name in /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    if fields.len() < 13 {
        bail!("short /proc/{pid}/stat line");
    }
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`: the unit of utime and stime.
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_grows_with_work() {
        let me = [std::process::id()];
        let before = cpu_seconds(&me).unwrap();
        let mut spin = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(100) {
            spin = spin.wrapping_add(std::hint::black_box(1));
        }
        let after = cpu_seconds(&me).unwrap();
        assert!(
            after > before,
            "{before} → {after} after 100 ms of spinning ({spin})"
        );
        assert!(cpu_seconds(&[std::process::id(), u32::MAX]).is_err());
        assert_eq!(parse_pids("12, 34").unwrap(), [12, 34]);
        assert!(parse_pids("12,x").is_err());
    }
}
