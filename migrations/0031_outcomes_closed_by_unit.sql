-- A unit's learning log picks its page team by team, each team's latest closed outcomes in
-- order (src/loops/learnings.rs): a team's page read the organisation's latest until 51 of
-- the team's turned up (about 60 ms at 140,000 closed outcomes).
CREATE INDEX IF NOT EXISTS outcomes_closed_by_unit_idx ON outcomes (unit_id, closed_on DESC, id DESC)
    WHERE closed_at IS NOT NULL;
