//! This node's own metrics (CPU, memory, disks, network, load) read with `sysinfo`.
//!
//! [`HostSampler::sample`] is synchronous and cheap enough to call every few
//! seconds from a `tokio::task::spawn_blocking` or an interval task. Rates
//! (`cpu_percent`, `net_*_bytes_per_sec`) are computed against the previous
//! call, so a sampler must be kept and reused.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System,
    MINIMUM_CPU_UPDATE_INTERVAL,
};

/// Global CPU usage of this node, 0–100.
pub const CPU_PERCENT: &str = "cpu_percent";
/// Used memory as a percentage of total memory.
pub const MEMORY_PERCENT: &str = "memory_percent";
/// Prefix of the per-mount disk usage metric `disk_percent:<mount point>` (as `df` Use%).
pub const DISK_PERCENT_PREFIX: &str = "disk_percent:";
/// Bytes received per second, summed over non-loopback interfaces.
pub const NET_RX_BYTES_PER_SEC: &str = "net_rx_bytes_per_sec";
/// Bytes sent per second, summed over non-loopback interfaces.
pub const NET_TX_BYTES_PER_SEC: &str = "net_tx_bytes_per_sec";
/// One-minute load average.
pub const LOAD1: &str = "load1";
/// Five-minute load average.
pub const LOAD5: &str = "load5";
/// Fifteen-minute load average.
pub const LOAD15: &str = "load15";

/// The fixed-name host metrics (per-disk metrics are `disk_percent:<mount point>`).
pub const HOST_METRICS: &[&str] = &[
    CPU_PERCENT,
    MEMORY_PERCENT,
    NET_RX_BYTES_PER_SEC,
    NET_TX_BYTES_PER_SEC,
    LOAD1,
    LOAD5,
    LOAD15,
];

/// Metrics produced by connection probes rather than by the host sampler.
pub const PROBE_METRICS: &[&str] = &["up", "latency_ms"];

/// True when `name` is a metric an alert rule may refer to.
pub fn is_known_metric(name: &str) -> bool {
    HOST_METRICS.contains(&name)
        || PROBE_METRICS.contains(&name)
        || name
            .strip_prefix(DISK_PERCENT_PREFIX)
            .is_some_and(|mount| !mount.is_empty())
}

/// One measured value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Metric name, e.g. `cpu_percent` or `disk_percent:/`.
    pub metric: String,
    /// Measured value.
    pub value: f64,
}

impl Sample {
    fn new(metric: impl Into<String>, value: f64) -> Self {
        Self {
            metric: metric.into(),
            value,
        }
    }
}

/// Reads this node's metrics; keeps the state needed to turn counters into rates.
pub struct HostSampler {
    system: System,
    disks: Disks,
    networks: Networks,
    /// When CPU usage was last refreshed.
    cpu_refreshed_at: Instant,
    /// Per-interface (received, transmitted) byte totals at the last sample.
    net_totals: HashMap<String, (u64, u64)>,
    /// When the network totals were last read.
    net_read_at: Instant,
}

impl Default for HostSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl HostSampler {
    /// Creates a sampler and primes the CPU and network counters.
    pub fn new() -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let networks = Networks::new_with_refreshed_list();
        let net_totals = interface_totals(&networks);
        let now = Instant::now();
        Self {
            system,
            disks: Disks::new_with_refreshed_list_specifics(
                DiskRefreshKind::nothing().with_storage(),
            ),
            networks,
            cpu_refreshed_at: now,
            net_totals,
            net_read_at: now,
        }
    }

    /// Takes one sample of every metric.
    ///
    /// `cpu_percent` is left out when less than `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`
    /// (about 200 ms) has passed since the sampler was created or last measured CPU;
    /// the network rates are left out when no time has passed since the last sample.
    pub fn sample(&mut self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(HOST_METRICS.len() + 4);

        if self.cpu_refreshed_at.elapsed() >= MINIMUM_CPU_UPDATE_INTERVAL {
            self.system.refresh_cpu_usage();
            self.cpu_refreshed_at = Instant::now();
            let cpu = f64::from(self.system.global_cpu_usage());
            out.push(Sample::new(CPU_PERCENT, cpu.clamp(0.0, 100.0)));
        }

        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let total = self.system.total_memory();
        if total > 0 {
            let used = self.system.used_memory() as f64;
            out.push(Sample::new(MEMORY_PERCENT, used * 100.0 / total as f64));
        }

        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        for (mount, percent) in disk_usage(&self.disks) {
            out.push(Sample::new(
                format!("{DISK_PERCENT_PREFIX}{mount}"),
                percent,
            ));
        }

        self.networks.refresh(true);
        let now = Instant::now();
        let elapsed = now.duration_since(self.net_read_at).as_secs_f64();
        let totals = interface_totals(&self.networks);
        if elapsed > 0.0 {
            let (mut rx, mut tx) = (0u64, 0u64);
            for (name, (cur_rx, cur_tx)) in &totals {
                // Interfaces that just appeared have no baseline; counters that went
                // backwards (interface reset) count as zero.
                if let Some((old_rx, old_tx)) = self.net_totals.get(name) {
                    rx = rx.saturating_add(cur_rx.saturating_sub(*old_rx));
                    tx = tx.saturating_add(cur_tx.saturating_sub(*old_tx));
                }
            }
            out.push(Sample::new(NET_RX_BYTES_PER_SEC, rx as f64 / elapsed));
            out.push(Sample::new(NET_TX_BYTES_PER_SEC, tx as f64 / elapsed));
        }
        self.net_totals = totals;
        self.net_read_at = now;

        let load = System::load_average();
        out.push(Sample::new(LOAD1, load.one));
        out.push(Sample::new(LOAD5, load.five));
        out.push(Sample::new(LOAD15, load.fifteen));
        out
    }
}

/// Byte totals of every non-loopback interface.
fn interface_totals(networks: &Networks) -> HashMap<String, (u64, u64)> {
    networks
        .list()
        .iter()
        .filter(|(name, _)| !is_loopback(name))
        .map(|(name, data)| {
            (
                name.clone(),
                (data.total_received(), data.total_transmitted()),
            )
        })
        .collect()
}

/// `lo` on Linux, `lo0` and friends on the BSDs and macOS.
fn is_loopback(interface: &str) -> bool {
    interface
        .strip_prefix("lo")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
}

/// Used-space percentage per mount point, skipping empty file systems and
/// single-file bind mounts (containers mount `/etc/hosts` and friends that way).
fn disk_usage(disks: &Disks) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for disk in disks.list() {
        let mount_point = disk.mount_point();
        if disk.total_space() == 0 || !is_directory(mount_point) {
            continue;
        }
        let percent = df_percent(mount_point).unwrap_or_else(|| {
            let total = disk.total_space();
            total.saturating_sub(disk.available_space()) as f64 * 100.0 / total as f64
        });
        out.insert(mount_point.to_string_lossy().into_owned(), percent);
    }
    out
}

/// `df`'s Use%: used / (used + available to unprivileged users), so blocks
/// reserved for root count neither as used nor as free. 100 means ordinary
/// writes fail.
#[cfg(unix)]
fn df_percent(mount_point: &Path) -> Option<f64> {
    let st = rustix::fs::statvfs(mount_point).ok()?;
    let used = st.f_blocks.saturating_sub(st.f_bfree);
    let usable = used.saturating_add(st.f_bavail);
    (usable > 0).then(|| used as f64 * 100.0 / usable as f64)
}

/// Elsewhere sysinfo's (total - available) / total is used instead.
#[cfg(not(unix))]
fn df_percent(_mount_point: &Path) -> Option<f64> {
    None
}

fn is_directory(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(samples: &[Sample], metric: &str) -> Option<f64> {
        samples.iter().find(|s| s.metric == metric).map(|s| s.value)
    }

    #[test]
    fn two_samples_give_sane_values() {
        let mut sampler = HostSampler::new();
        let _first = sampler.sample();
        std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL + std::time::Duration::from_millis(50));
        let second = sampler.sample();

        let cpu = value(&second, CPU_PERCENT).expect("cpu_percent in second sample");
        assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
        let mem = value(&second, MEMORY_PERCENT).expect("memory_percent");
        assert!(mem > 0.0 && mem <= 100.0, "memory {mem}");
        let disks: Vec<_> = second
            .iter()
            .filter(|s| s.metric.starts_with(DISK_PERCENT_PREFIX))
            .collect();
        assert!(!disks.is_empty(), "no disk metric in {second:?}");
        for d in &disks {
            assert!((0.0..=100.0).contains(&d.value), "{d:?}");
            assert!(is_known_metric(&d.metric));
        }
        for metric in [
            NET_RX_BYTES_PER_SEC,
            NET_TX_BYTES_PER_SEC,
            LOAD1,
            LOAD5,
            LOAD15,
        ] {
            let v = value(&second, metric).unwrap_or_else(|| panic!("{metric} missing"));
            assert!(v >= 0.0 && v.is_finite(), "{metric} = {v}");
        }
        for s in &second {
            assert!(is_known_metric(&s.metric), "{} not known", s.metric);
        }
    }

    #[test]
    fn first_sample_right_after_new_skips_cpu() {
        let mut sampler = HostSampler::new();
        let first = sampler.sample();
        assert!(value(&first, CPU_PERCENT).is_none());
        assert!(value(&first, MEMORY_PERCENT).is_some());
    }

    #[test]
    fn known_metric_names() {
        for name in HOST_METRICS {
            assert!(is_known_metric(name));
        }
        assert!(is_known_metric("up"));
        assert!(is_known_metric("latency_ms"));
        assert!(is_known_metric("disk_percent:/"));
        assert!(is_known_metric("disk_percent:/var/lib/postgresql"));
        assert!(!is_known_metric("disk_percent:"));
        assert!(!is_known_metric("cpu"));
        assert!(!is_known_metric(""));
        assert!(!is_known_metric("CPU_PERCENT"));
    }

    #[cfg(unix)]
    #[test]
    fn root_disk_percent_is_df_style() {
        let pct = df_percent(Path::new("/")).expect("statvfs /");
        assert!((0.0..=100.0).contains(&pct), "{pct}");
    }

    #[test]
    fn loopback_names() {
        assert!(is_loopback("lo"));
        assert!(is_loopback("lo0"));
        assert!(!is_loopback("lowpan0"));
        assert!(!is_loopback("eth0"));
    }
}
