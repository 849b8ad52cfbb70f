//! What each container of a cluster may use: CPUs and memory (limits the
//! kernel enforces) and the size of its /dev/shm, where Open MPI's
//! shared-memory transport keeps the segments of ranks in one container.
//! Docker's 64 MiB default starves it; swarmpi sizes it by slots.

use serde::{Deserialize, Serialize};

use crate::error::UserError;

const MIB: u64 = 1024 * 1024;
/// /dev/shm per slot, and at least this much in all.
const SHM_PER_SLOT: u64 = 128 * MIB;
const SHM_MIN: u64 = 256 * MIB;

/// Per-container limits, as the cluster's state keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPUs (fractions allowed); None: no limit.
    pub cpus: Option<f64>,
    /// Bytes of memory; None: no limit.
    pub memory: Option<u64>,
    /// Bytes of /dev/shm; None: sized by slots (see [`shm_for`]).
    pub shm: Option<u64>,
}

impl Resources {
    /// Docker's nano-CPUs for the CPU limit.
    pub fn nano_cpus(&self) -> Option<i64> {
        self.cpus.map(|cpus| (cpus * 1e9).round() as i64)
    }

    /// Slots a container gets from its CPU limit: whole CPUs, at least 1.
    pub fn slots_from_cpus(&self) -> Option<u32> {
        self.cpus.map(|cpus| (cpus.floor() as u32).max(1))
    }

    /// The /dev/shm size for a container of `slots` slots.
    pub fn shm_bytes(&self, slots: u32) -> u64 {
        self.shm.unwrap_or_else(|| shm_for(slots, self.memory))
    }

    /// One line for `status`.
    pub fn describe(&self, slots: u32) -> String {
        let cpus = self
            .cpus
            .map_or("no CPU limit".to_string(), |c| format!("{c} CPUs"));
        let memory = self.memory.map_or("no memory limit".to_string(), |m| {
            format!("{} memory", human_bytes(m))
        });
        format!(
            "{cpus}, {memory}, /dev/shm {}",
            human_bytes(self.shm_bytes(slots))
        )
    }
}

/// 128 MiB per slot, at least 256 MiB, at most half the memory limit
/// (what is written to /dev/shm counts against it).
pub fn shm_for(slots: u32, memory: Option<u64>) -> u64 {
    let wanted = (u64::from(slots) * SHM_PER_SLOT).max(SHM_MIN);
    memory.map_or(wanted, |memory| wanted.min(memory / 2).max(64 * MIB))
}

/// `--cpus`: a positive number, e.g. 2 or 1.5.
pub fn parse_cpus(text: &str) -> Result<f64, UserError> {
    match text.parse::<f64>() {
        Ok(cpus) if (0.01..=4096.0).contains(&cpus) => Ok(cpus),
        _ => Err(UserError::usage(format!("invalid --cpus '{text}'"))
            .hint("give the CPUs each container may use, e.g. --cpus 2 or --cpus 1.5")),
    }
}

/// `--memory` and `--shm-size`: bytes with an optional k, m, g or t
/// suffix (powers of 1024), as docker takes them.
pub fn parse_bytes(flag: &str, text: &str) -> Result<u64, UserError> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(['b', 'i']);
    let (number, unit) = match digits.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&digits[..at], c),
        _ => (digits, 'b'),
    };
    let scale = match unit {
        'b' => 1,
        'k' => 1024,
        'm' => MIB,
        'g' => 1024 * MIB,
        't' => 1024 * 1024 * MIB,
        _ => 0,
    };
    match number.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(bytes) if bytes >= 4 * MIB => Ok(bytes),
        _ => Err(UserError::usage(format!("invalid {flag} '{text}'")).hint(format!(
            "give a size of at least 4m, e.g. {flag} 2g or {flag} 512m"
        ))),
    }
}

/// 536870912 -> "512 MiB".
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * MIB && b % (1024 * MIB) == 0 => format!("{} GiB", b / (1024 * MIB)),
        b if b >= 1024 * MIB => format!("{:.1} GiB", b as f64 / (1024 * MIB) as f64),
        b => format!("{} MiB", b / MIB),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_cpus_as_docker_does() {
        assert_eq!(parse_bytes("--memory", "512m").unwrap(), 512 * MIB);
        assert_eq!(parse_bytes("--memory", "2g").unwrap(), 2048 * MIB);
        assert_eq!(parse_bytes("--memory", "2GiB").unwrap(), 2048 * MIB);
        assert_eq!(parse_bytes("--memory", "8388608").unwrap(), 8 * MIB);
        assert!(
            parse_bytes("--memory", "1k").is_err(),
            "too small to run anything"
        );
        assert!(
            parse_bytes("--memory", "lots")
                .unwrap_err()
                .message
                .contains("--memory 'lots'")
        );
        assert_eq!(parse_cpus("1.5").unwrap(), 1.5);
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("two").is_err());
    }

    #[test]
    fn shm_grows_with_slots_within_the_memory_limit() {
        assert_eq!(shm_for(1, None), 256 * MIB, "never Docker's 64 MiB");
        assert_eq!(shm_for(8, None), 1024 * MIB);
        assert_eq!(shm_for(8, Some(1024 * MIB)), 512 * MIB);
        let explicit = Resources {
            shm: Some(2048 * MIB),
            ..Resources::default()
        };
        assert_eq!(explicit.shm_bytes(1), 2048 * MIB);
    }

    #[test]
    fn slots_follow_whole_cpus() {
        let limited = |cpus| Resources {
            cpus: Some(cpus),
            ..Resources::default()
        };
        assert_eq!(limited(2.0).slots_from_cpus(), Some(2));
        assert_eq!(limited(1.5).slots_from_cpus(), Some(1));
        assert_eq!(limited(0.5).slots_from_cpus(), Some(1));
        assert_eq!(Resources::default().slots_from_cpus(), None);
        assert_eq!(limited(1.5).nano_cpus(), Some(1_500_000_000));
        assert_eq!(
            limited(1.5).describe(1),
            "1.5 CPUs, no memory limit, /dev/shm 256 MiB"
        );
    }
}
