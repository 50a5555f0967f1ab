-- A unit's epics list without a status filter picks its page from each team's newest epics
-- in order (src/epics/list.rs): by team and creation, index-only. With a status filter it
-- reads epics_team_idx (team, status, creation) for each status asked.
CREATE INDEX IF NOT EXISTS epics_team_newest_idx ON epics (team_id, created_at DESC, id DESC);
