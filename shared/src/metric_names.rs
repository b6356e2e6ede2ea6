//! Every metric name the binaries export, in one catalogue: code refers to these constants,
//! and a test (tests/tests/metrics_exported.rs) checks that the README, the Grafana dashboards
//! and the alert rules name only metrics listed here.

catalogue! {
    /// `coin_controller_decisions_total`.
    CONTROLLER_DECISIONS_TOTAL = "coin_controller_decisions_total",
    /// `coin_controller_failures_total`.
    CONTROLLER_FAILURES_TOTAL = "coin_controller_failures_total",
    /// `coin_controller_tick_duration_seconds`.
    CONTROLLER_TICK_DURATION_SECONDS = "coin_controller_tick_duration_seconds",
    /// `coin_database_connections`.
    DATABASE_CONNECTIONS = "coin_database_connections",
    /// `coin_enqueue_coalesced_jobs_total`.
    ENQUEUE_COALESCED_JOBS_TOTAL = "coin_enqueue_coalesced_jobs_total",
    /// `coin_enqueue_script_calls_total`.
    ENQUEUE_SCRIPT_CALLS_TOTAL = "coin_enqueue_script_calls_total",
    /// `coin_host_cpu_usage_ratio`.
    HOST_CPU_USAGE_RATIO = "coin_host_cpu_usage_ratio",
    /// `coin_host_disk_usage_ratio`.
    HOST_DISK_USAGE_RATIO = "coin_host_disk_usage_ratio",
    /// `coin_host_load_average`.
    HOST_LOAD_AVERAGE = "coin_host_load_average",
    /// `coin_host_memory_usage_ratio`.
    HOST_MEMORY_USAGE_RATIO = "coin_host_memory_usage_ratio",
    /// `coin_http_rate_limited_total`.
    HTTP_RATE_LIMITED_TOTAL = "coin_http_rate_limited_total",
    /// `coin_http_request_duration_seconds`.
    HTTP_REQUEST_DURATION_SECONDS = "coin_http_request_duration_seconds",
    /// `coin_http_requests_total`.
    HTTP_REQUESTS_TOTAL = "coin_http_requests_total",
    /// `coin_idempotency_store_failures_total`.
    IDEMPOTENCY_STORE_FAILURES_TOTAL = "coin_idempotency_store_failures_total",
    /// `coin_job_duration_seconds`.
    JOB_DURATION_SECONDS = "coin_job_duration_seconds",
    /// `coin_jobs_completed_total`.
    JOBS_COMPLETED_TOTAL = "coin_jobs_completed_total",
    /// `coin_jobs_enqueued_total`.
    JOBS_ENQUEUED_TOTAL = "coin_jobs_enqueued_total",
    /// `coin_proposals_auto_closed_total`.
    PROPOSALS_AUTO_CLOSED_TOTAL = "coin_proposals_auto_closed_total",
    /// `coin_queue_backlog_jobs`.
    QUEUE_BACKLOG_JOBS = "coin_queue_backlog_jobs",
    /// `coin_queue_completion_rate_jobs_per_second`.
    QUEUE_COMPLETION_RATE_JOBS_PER_SECOND = "coin_queue_completion_rate_jobs_per_second",
    /// `coin_queue_dead_jobs`.
    QUEUE_DEAD_JOBS = "coin_queue_dead_jobs",
    /// `coin_queue_enqueue_rate_jobs_per_second`.
    QUEUE_ENQUEUE_RATE_JOBS_PER_SECOND = "coin_queue_enqueue_rate_jobs_per_second",
    /// `coin_queue_inflight_jobs`.
    QUEUE_INFLIGHT_JOBS = "coin_queue_inflight_jobs",
    /// `coin_queue_latency_seconds`.
    QUEUE_LATENCY_SECONDS = "coin_queue_latency_seconds",
    /// `coin_queue_paused`.
    QUEUE_PAUSED = "coin_queue_paused",
    /// `coin_queue_scheduled_jobs`.
    QUEUE_SCHEDULED_JOBS = "coin_queue_scheduled_jobs",
    /// `coin_reconciliation_mismatches`.
    RECONCILIATION_MISMATCHES = "coin_reconciliation_mismatches",
    /// `coin_reconciliation_mismatches_total`.
    RECONCILIATION_MISMATCHES_TOTAL = "coin_reconciliation_mismatches_total",
    /// `coin_retention_deleted_rows_total`.
    RETENTION_DELETED_ROWS_TOTAL = "coin_retention_deleted_rows_total",
    /// `coin_schedule_duration_seconds`.
    SCHEDULE_DURATION_SECONDS = "coin_schedule_duration_seconds",
    /// `coin_schedule_runs_total`.
    SCHEDULE_RUNS_TOTAL = "coin_schedule_runs_total",
    /// `coin_webhook_deliveries_total`.
    WEBHOOK_DELIVERIES_TOTAL = "coin_webhook_deliveries_total",
    /// `coin_worker_batch_retries_total`.
    WORKER_BATCH_RETRIES_TOTAL = "coin_worker_batch_retries_total",
    /// `coin_worker_batch_size`.
    WORKER_BATCH_SIZE = "coin_worker_batch_size",
    /// `coin_worker_replicas`.
    WORKER_REPLICAS = "coin_worker_replicas",
}
