//! Every metric name the binaries export, in one catalogue: code refers to these constants,
//! and a test (tests/tests/metrics_exported.rs) checks that the README, the Grafana dashboards
//! and the alert rules name only metrics listed here.

/// `coin_controller_decisions_total`.
pub const CONTROLLER_DECISIONS_TOTAL: &str = "coin_controller_decisions_total";
/// `coin_controller_failures_total`.
pub const CONTROLLER_FAILURES_TOTAL: &str = "coin_controller_failures_total";
/// `coin_controller_tick_duration_seconds`.
pub const CONTROLLER_TICK_DURATION_SECONDS: &str = "coin_controller_tick_duration_seconds";
/// `coin_database_connections`.
pub const DATABASE_CONNECTIONS: &str = "coin_database_connections";
/// `coin_enqueue_coalesced_jobs_total`.
pub const ENQUEUE_COALESCED_JOBS_TOTAL: &str = "coin_enqueue_coalesced_jobs_total";
/// `coin_enqueue_script_calls_total`.
pub const ENQUEUE_SCRIPT_CALLS_TOTAL: &str = "coin_enqueue_script_calls_total";
/// `coin_host_cpu_usage_ratio`.
pub const HOST_CPU_USAGE_RATIO: &str = "coin_host_cpu_usage_ratio";
/// `coin_host_disk_usage_ratio`.
pub const HOST_DISK_USAGE_RATIO: &str = "coin_host_disk_usage_ratio";
/// `coin_host_load_average`.
pub const HOST_LOAD_AVERAGE: &str = "coin_host_load_average";
/// `coin_host_memory_usage_ratio`.
pub const HOST_MEMORY_USAGE_RATIO: &str = "coin_host_memory_usage_ratio";
/// `coin_http_rate_limited_total`.
pub const HTTP_RATE_LIMITED_TOTAL: &str = "coin_http_rate_limited_total";
/// `coin_http_request_duration_seconds`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "coin_http_request_duration_seconds";
/// `coin_http_requests_total`.
pub const HTTP_REQUESTS_TOTAL: &str = "coin_http_requests_total";
/// `coin_idempotency_store_failures_total`.
pub const IDEMPOTENCY_STORE_FAILURES_TOTAL: &str = "coin_idempotency_store_failures_total";
/// `coin_job_duration_seconds`.
pub const JOB_DURATION_SECONDS: &str = "coin_job_duration_seconds";
/// `coin_jobs_completed_total`.
pub const JOBS_COMPLETED_TOTAL: &str = "coin_jobs_completed_total";
/// `coin_jobs_enqueued_total`.
pub const JOBS_ENQUEUED_TOTAL: &str = "coin_jobs_enqueued_total";
/// `coin_proposals_auto_closed_total`.
pub const PROPOSALS_AUTO_CLOSED_TOTAL: &str = "coin_proposals_auto_closed_total";
/// `coin_queue_backlog_jobs`.
pub const QUEUE_BACKLOG_JOBS: &str = "coin_queue_backlog_jobs";
/// `coin_queue_completion_rate_jobs_per_second`.
pub const QUEUE_COMPLETION_RATE_JOBS_PER_SECOND: &str =
    "coin_queue_completion_rate_jobs_per_second";
/// `coin_queue_dead_jobs`.
pub const QUEUE_DEAD_JOBS: &str = "coin_queue_dead_jobs";
/// `coin_queue_enqueue_rate_jobs_per_second`.
pub const QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND: &str = "coin_queue_enqueue_rate_jobs_per_second";
/// `coin_queue_inflight_jobs`.
pub const QUEUE_INFLIGHT_JOBS: &str = "coin_queue_inflight_jobs";
/// `coin_queue_latency_seconds`.
pub const QUEUE_LATENCY_SECONDS: &str = "coin_queue_latency_seconds";
/// `coin_queue_paused`.
pub const QUEUE_PAUSED: &str = "coin_queue_paused";
/// `coin_queue_scheduled_jobs`.
pub const QUEUE_SCHEDULED_JOBS: &str = "coin_queue_scheduled_jobs";
/// `coin_reconciliation_mismatches`.
pub const RECONCILIATION_MISMATCHES: &str = "coin_reconciliation_mismatches";
/// `coin_reconciliation_mismatches_total`.
pub const RECONCILIATION_MISMATCHES_TOTAL: &str = "coin_reconciliation_mismatches_total";
/// `coin_retention_deleted_rows_total`.
pub const RETENTION_DELETED_ROWS_TOTAL: &str = "coin_retention_deleted_rows_total";
/// `coin_schedule_duration_seconds`.
pub const SCHEDULE_DURATION_SECONDS: &str = "coin_schedule_duration_seconds";
/// `coin_schedule_runs_total`.
pub const SCHEDULE_RUNS_TOTAL: &str = "coin_schedule_runs_total";
/// `coin_webhook_deliveries_total`.
pub const WEBHOOK_DELIVERIES_TOTAL: &str = "coin_webhook_deliveries_total";
/// `coin_worker_batch_retries_total`.
pub const WORKER_BATCH_RETRIES_TOTAL: &str = "coin_worker_batch_retries_total";
/// `coin_worker_batch_size`.
pub const WORKER_BATCH_SIZE: &str = "coin_worker_batch_size";
/// `coin_worker_replicas`.
pub const WORKER_REPLICAS: &str = "coin_worker_replicas";

/// Every name above.
pub const ALL: &[&str] = &[
    CONTROLLER_DECISIONS_TOTAL,
    CONTROLLER_FAILURES_TOTAL,
    CONTROLLER_TICK_DURATION_SECONDS,
    DATABASE_CONNECTIONS,
    ENQUEUE_COALESCED_JOBS_TOTAL,
    ENQUEUE_SCRIPT_CALLS_TOTAL,
    HOST_CPU_USAGE_RATIO,
    HOST_DISK_USAGE_RATIO,
    HOST_LOAD_AVERAGE,
    HOST_MEMORY_USAGE_RATIO,
    HTTP_RATE_LIMITED_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    HTTP_REQUESTS_TOTAL,
    IDEMPOTENCY_STORE_FAILURES_TOTAL,
    JOB_DURATION_SECONDS,
    JOBS_COMPLETED_TOTAL,
    JOBS_ENQUEUED_TOTAL,
    PROPOSALS_AUTO_CLOSED_TOTAL,
    QUEUE_BACKLOG_JOBS,
    QUEUE_COMPLETION_RATE_JOBS_PER_SECOND,
    QUEUE_DEAD_JOBS,
    QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND,
    QUEUE_INFLIGHT_JOBS,
    QUEUE_LATENCY_SECONDS,
    QUEUE_PAUSED,
    QUEUE_SCHEDULED_JOBS,
    RECONCILIATION_MISMATCHES,
    RECONCILIATION_MISMATCHES_TOTAL,
    RETENTION_DELETED_ROWS_TOTAL,
    SCHEDULE_DURATION_SECONDS,
    SCHEDULE_RUNS_TOTAL,
    WEBHOOK_DELIVERIES_TOTAL,
    WORKER_BATCH_RETRIES_TOTAL,
    WORKER_BATCH_SIZE,
    WORKER_REPLICAS,
];
