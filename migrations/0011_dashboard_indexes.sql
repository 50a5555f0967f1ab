-- Indexes shaped for the dashboard's aggregates (src/dashboard/figures.rs), so a company
-- of 600 teams and 200,000 epics is read from indexes rather than from the tables:
-- epics of a period with every column the coverage, flow and value figures read;
-- outcomes by measure-by with what loop closure reads; closed outcomes by closing day with
-- what realisation, its trend and the bullet charts read.
CREATE INDEX epics_dashboard_idx ON epics (period_id, team_id)
    INCLUDE (id, work_type, status, owner_id, started_at, delivered_at, closed_at, value, effort_weeks);

CREATE INDEX outcomes_due_idx ON outcomes (measure_by) INCLUDE (epic_id, initiative_id, closed_at);
-- Replaced by outcomes_due_idx, which answers the same lookups.
DROP INDEX outcomes_measure_by_idx;

CREATE INDEX outcomes_closed_idx ON outcomes (closed_on)
    INCLUDE (epic_id, initiative_id, verdict) WHERE closed_at IS NOT NULL;

-- Key results followed by check-ins, by objective: the overdue check-ins.
CREATE INDEX key_results_check_ins_idx ON key_results (objective_id)
    INCLUDE (last_check_in_on, created_at) WHERE progress_source = 'check_ins';
