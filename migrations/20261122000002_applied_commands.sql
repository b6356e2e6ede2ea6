-- Commands that have no natural key of their own (open/close/reject a proposal, revoke a
-- delegation, end a council membership) record their command id here in the same transaction
-- as their effect, so a re-delivered job is recognised and changes nothing.
CREATE TABLE applied_commands (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applied_commands_applied_at_idx ON applied_commands (applied_at);

-- The tally reads the live delegations of one scope; cycle checks walk from a delegator.
CREATE INDEX delegations_live_scope_idx ON delegations (proposal_id, delegator_user_id)
    WHERE revoked_at IS NULL;
