-- Worker pools (WORKER_POOLS): the controller decides and scales each pool on its own and
-- records one row per pool and tick. Rows written before pools existed, and every row of a
-- controller without WORKER_POOLS, belong to the single pool `default`.

ALTER TABLE controller_actions ADD COLUMN pool text NOT NULL DEFAULT 'default';
CREATE INDEX controller_actions_pool_timestamp_idx ON controller_actions (pool, "timestamp" DESC);
