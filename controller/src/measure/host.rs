//! Host CPU, memory, disk and load through sysinfo. CPU usage is a difference between two
//! refreshes, so the sampler keeps its `System` from one tick to the next.

use std::path::Path;

use serde::Serialize;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

/// Host resource usage at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HostMetrics {
    /// CPU busy over all cores since the previous sample, 0..1.
    pub cpu_ratio: f64,
    /// Total memory in bytes.
    pub memory_total_bytes: u64,
    /// Memory available to new work in bytes.
    pub memory_available_bytes: u64,
    /// Disk holding the root (or the largest) file system: total bytes.
    pub disk_total_bytes: u64,
    /// Its free bytes.
    pub disk_free_bytes: u64,
    /// 1, 5 and 15 minute load averages.
    pub load_averages: [f64; 3],
}

impl HostMetrics {
    /// Memory in use, bytes.
    pub fn memory_used_bytes(&self) -> u64 {
        self.memory_total_bytes
            .saturating_sub(self.memory_available_bytes)
    }

    /// Memory in use, 0..1.
    pub fn memory_ratio(&self) -> f64 {
        ratio(self.memory_used_bytes(), self.memory_total_bytes)
    }

    /// Disk in use, bytes.
    pub fn disk_used_bytes(&self) -> u64 {
        self.disk_total_bytes.saturating_sub(self.disk_free_bytes)
    }

    /// Disk in use, 0..1.
    pub fn disk_ratio(&self) -> f64 {
        ratio(self.disk_used_bytes(), self.disk_total_bytes)
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Samples the host; keep one for the life of the process.
pub struct HostSampler {
    system: Option<System>,
}

impl Default for HostSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl HostSampler {
    /// Takes the first CPU sample, so the next [`HostSampler::sample`] has a baseline.
    pub fn new() -> Self {
        let refresh = RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_usage())
            .with_memory(MemoryRefreshKind::nothing().with_ram());
        let system = System::new_with_specifics(refresh)
            .inspect_err(|e| tracing::warn!(error = %e, "host metrics are unavailable"))
            .ok();
        Self { system }
    }

    /// Current host usage, `None` where the platform offers none.
    pub fn sample(&mut self) -> Option<HostMetrics> {
        let system = self.system.as_mut()?;
        system.refresh_cpu_usage();
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let (disk_total_bytes, disk_free_bytes) = root_disk().unwrap_or((0, 0));
        let load = System::load_average().ok();
        Some(HostMetrics {
            cpu_ratio: (f64::from(system.global_cpu_usage()) / 100.0).clamp(0.0, 1.0),
            memory_total_bytes: system.total_memory(),
            memory_available_bytes: system.available_memory(),
            disk_total_bytes,
            disk_free_bytes,
            load_averages: load.map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]),
        })
    }
}

/// The disk mounted at `/`, or the largest one.
fn root_disk() -> Option<(u64, u64)> {
    let disks = Disks::new_with_refreshed_list().ok()?;
    let chosen = disks
        .iter()
        .find(|d| d.mount_point() == Path::new("/"))
        .or_else(|| disks.iter().max_by_key(|d| d.total_space()))?;
    Some((chosen.total_space(), chosen.available_space()))
}
