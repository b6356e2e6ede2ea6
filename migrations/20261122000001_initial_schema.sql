-- People's Coin: the whole data model of DESIGN.md in one first migration.
-- UUID keys (minted by the API as UUIDv7, so rows sort by creation), ENUM statuses, JSONB context,
-- created_at/updated_at maintained by a trigger.

CREATE TYPE goodwill_status AS ENUM ('PENDING_VERIFICATION', 'VERIFIED', 'REJECTED');
CREATE TYPE proposal_status AS ENUM ('DRAFT', 'ACTIVE', 'CLOSED', 'REJECTED');
CREATE TYPE vote_value AS ENUM ('FOR', 'AGAINST', 'ABSTAIN');
CREATE TYPE ledger_entry_kind AS ENUM ('GOODWILL', 'DISTRIBUTION', 'ADJUSTMENT');
CREATE TYPE council_role AS ENUM ('CHAIR', 'MEMBER', 'OBSERVER');

-- Keeps updated_at honest whatever client writes the row.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- The ledger is append-only: corrections are new entries, never edits.
CREATE FUNCTION refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only (% refused)', TG_OP;
END;
$$;

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wallets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL UNIQUE REFERENCES users (id),
    -- Integer points; always equal to the sum of the wallet's ledger entries.
    balance    bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    wallet_id    uuid NOT NULL REFERENCES wallets (id),
    amount       bigint NOT NULL,
    kind         ledger_entry_kind NOT NULL,
    -- What caused the entry (a goodwill action id, a distribution period id, ...).
    reference_id uuid NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- One entry per cause and wallet: a re-delivered job cannot credit twice.
    UNIQUE (wallet_id, kind, reference_id)
);
CREATE INDEX ledger_entries_wallet_idx ON ledger_entries (wallet_id);

CREATE TABLE goodwill_actions (
    id                uuid PRIMARY KEY,
    performer_user_id uuid NOT NULL REFERENCES users (id),
    action_type       text NOT NULL CHECK (length(action_type) BETWEEN 1 AND 100),
    description       text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    loves_value       integer NOT NULL CHECK (loves_value BETWEEN 1 AND 100),
    contextual_data   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(contextual_data) = 'object'),
    status            goodwill_status NOT NULL DEFAULT 'PENDING_VERIFICATION',
    occurred_at       timestamptz NOT NULL,
    processed_at      timestamptz,
    rejection_reason  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX goodwill_actions_performer_idx ON goodwill_actions (performer_user_id, created_at DESC);

CREATE TABLE proposals (
    id               uuid PRIMARY KEY,
    title            varchar(255) NOT NULL,
    description      text NOT NULL,
    proposer_user_id uuid REFERENCES users (id),
    status           proposal_status NOT NULL DEFAULT 'DRAFT',
    vote_start_time  timestamptz NOT NULL DEFAULT now(),
    vote_end_time    timestamptz NOT NULL DEFAULT now() + interval '7 days',
    -- Fraction (0..1) of eligible members whose weight must take part.
    required_quorum  numeric(5, 4) NOT NULL DEFAULT 0 CHECK (required_quorum BETWEEN 0 AND 1),
    final_result     jsonb,
    opened_at        timestamptz,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (vote_end_time > vote_start_time)
);
CREATE INDEX proposals_status_idx ON proposals (status, vote_end_time);

CREATE TABLE votes (
    id            uuid PRIMARY KEY,
    proposal_id   uuid NOT NULL REFERENCES proposals (id),
    voter_user_id uuid NOT NULL REFERENCES users (id),
    vote_value    vote_value NOT NULL,
    rationale     text,
    cast_at       timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- One vote per member and proposal; a later vote replaces the earlier one.
    UNIQUE (voter_user_id, proposal_id)
);
CREATE INDEX votes_proposal_idx ON votes (proposal_id);

-- Liquid democracy: a member hands their weight to a delegate, globally (proposal_id NULL)
-- or for one proposal; the most specific live delegation wins.
CREATE TABLE delegations (
    id                uuid PRIMARY KEY,
    delegator_user_id uuid NOT NULL REFERENCES users (id),
    delegate_user_id  uuid NOT NULL REFERENCES users (id),
    proposal_id       uuid REFERENCES proposals (id),
    revoked_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (delegator_user_id <> delegate_user_id)
);
-- At most one live delegation per delegator and scope.
CREATE UNIQUE INDEX delegations_live_global_idx ON delegations (delegator_user_id)
    WHERE revoked_at IS NULL AND proposal_id IS NULL;
CREATE UNIQUE INDEX delegations_live_proposal_idx ON delegations (delegator_user_id, proposal_id)
    WHERE revoked_at IS NULL AND proposal_id IS NOT NULL;
CREATE INDEX delegations_delegate_idx ON delegations (delegate_user_id) WHERE revoked_at IS NULL;

CREATE TABLE council_members (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    role       council_role NOT NULL DEFAULT 'MEMBER',
    start_date timestamptz NOT NULL DEFAULT now(),
    -- Active while end_date is NULL or in the future.
    end_date   timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR end_date > start_date)
);
CREATE INDEX council_members_user_idx ON council_members (user_id);

-- One row for every state change, written in the same transaction as the change.
CREATE TABLE audit_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action_type   text NOT NULL,
    actor_user_id uuid,
    subject_type  text NOT NULL,
    subject_id    uuid,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);

-- One row per controller evaluation.
CREATE TABLE controller_actions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "timestamp"      timestamptz NOT NULL DEFAULT now(),
    observed         jsonb NOT NULL DEFAULT '{}'::jsonb,
    recommendations  jsonb NOT NULL DEFAULT '{}'::jsonb,
    actions_taken    jsonb NOT NULL DEFAULT '[]'::jsonb,
    reason           text NOT NULL DEFAULT '',
    current_replicas integer,
    desired_replicas integer,
    scaler           text NOT NULL DEFAULT 'none',
    dry_run          boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX controller_actions_timestamp_idx ON controller_actions ("timestamp" DESC);

CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER wallets_updated_at BEFORE UPDATE ON wallets FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER goodwill_actions_updated_at BEFORE UPDATE ON goodwill_actions FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER proposals_updated_at BEFORE UPDATE ON proposals FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER votes_updated_at BEFORE UPDATE ON votes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER delegations_updated_at BEFORE UPDATE ON delegations FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER council_members_updated_at BEFORE UPDATE ON council_members FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
