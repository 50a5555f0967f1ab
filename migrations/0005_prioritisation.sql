-- Prioritisation by anticipated outcome: each epic's anticipated value (a number with its
-- label), confidence (0–10, DOMAIN.md's one scale) and effort in team-weeks, and a manual
-- backlog position. Score = value × confidence ÷ 10 ÷ effort.
ALTER TABLE epics
    ADD COLUMN value        numeric(20, 6) CHECK (value >= 0),
    ADD COLUMN value_label  text NOT NULL DEFAULT '' CHECK (length(value_label) <= 60),
    ADD COLUMN confidence   smallint CHECK (confidence BETWEEN 0 AND 10),
    ADD COLUMN effort_weeks numeric(8, 2) CHECK (effort_weeks > 0),
    -- Position given by hand in a backlog (1 first); NULL: placed by score after those.
    ADD COLUMN rank         integer CHECK (rank > 0);
-- The backlog reads a unit's open epics.
CREATE INDEX epics_open_team_idx ON epics (team_id) WHERE status IN ('draft', 'ready', 'in_progress');
