-- Outbound webhooks (an outbox written in the transaction of each change) and the state of the
-- scheduled jobs: tick claims (exactly once across replicas), distribution periods and chunks,
-- and the community pool wallet they are paid from.

CREATE TYPE webhook_delivery_status AS ENUM ('PENDING', 'ENQUEUED', 'DELIVERED', 'FAILED', 'SKIPPED');
CREATE TYPE distribution_status AS ENUM ('IN_PROGRESS', 'COMPLETED', 'INSUFFICIENT_FUNDS');

CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    url             text NOT NULL CHECK (url ~ '^https?://'),
    event_types     text[] NOT NULL CHECK (cardinality(event_types) > 0),
    -- `whsec_` + base64 of the signing key; never returned by any read.
    secret          text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    -- Why the endpoint stopped receiving events (e.g. it answered 410 Gone).
    disabled_reason text,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER webhook_endpoints_updated_at BEFORE UPDATE ON webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The outbox and the delivery record in one: one row per (event, subscribed endpoint), written in
-- the transaction of the change; the relay enqueues PENDING rows (job id = row id) and marks them
-- ENQUEUED; the `webhooks` queue delivers them. `id` is the `webhook-id` of every attempt.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    status           webhook_delivery_status NOT NULL DEFAULT 'PENDING',
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    enqueued_at      timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (created_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_delivered_idx ON webhook_deliveries (delivered_at) WHERE status = 'DELIVERED';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id);

-- One row per (schedule, tick): the replica whose INSERT wins runs the tick; the others skip it.
CREATE TABLE schedule_runs (
    schedule    text NOT NULL,
    tick        timestamptz NOT NULL,
    worker_id   text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     jsonb,
    PRIMARY KEY (schedule, tick)
);
CREATE INDEX schedule_runs_started_idx ON schedule_runs (started_at);

-- System accounts (the community pool) hold a wallet but are not members: tallies and
-- distributions leave them out.
ALTER TABLE users ADD COLUMN system_account boolean NOT NULL DEFAULT false;

-- The community pool that distributions are paid from is the wallet of a system account
-- (user and wallet id 00000000-0000-0000-0000-00000000c001), created on demand by the first
-- distribution and funded with ADJUSTMENT ledger entries.

-- One row per distribution period (its key is the cron tick), so a period is paid once.
CREATE TABLE distribution_periods (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    period_key  text NOT NULL UNIQUE,
    -- Points credited to each eligible wallet.
    amount      bigint NOT NULL CHECK (amount > 0),
    -- Wallets created before this instant take part.
    cutoff      timestamptz NOT NULL,
    wallets     bigint NOT NULL DEFAULT 0,
    chunks      integer NOT NULL DEFAULT 0,
    status      distribution_status NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE TRIGGER distribution_periods_updated_at BEFORE UPDATE ON distribution_periods
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A period's wallets split by id range into chunks of bounded size; each chunk is one job that
-- credits its wallets and debits the pool in one transaction.
CREATE TABLE distribution_chunks (
    id          uuid PRIMARY KEY,
    period_id   uuid NOT NULL REFERENCES distribution_periods (id),
    idx         integer NOT NULL,
    -- Wallet id range [from_wallet, to_wallet); NULL = unbounded.
    from_wallet uuid,
    to_wallet   uuid,
    applied_at  timestamptz,
    credited    bigint,
    enqueued_at timestamptz,
    UNIQUE (period_id, idx)
);
CREATE INDEX distribution_chunks_unenqueued_idx ON distribution_chunks (period_id) WHERE enqueued_at IS NULL;

-- Retention deletes by age.
CREATE INDEX audit_log_action_type_idx ON audit_log (action_type, created_at DESC);
