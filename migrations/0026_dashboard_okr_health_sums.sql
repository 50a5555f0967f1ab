-- OKR health summed like the other figures (0012, 0022): per unit and period, its
-- objectives (how many, their progress added up, their key results by confidence), and
-- how many key results followed by check-ins were last checked in (or set) on each day;
-- and every unit's sums over the units beneath it. The company's quarter read its 4,955
-- objectives' progress rows (7-11 ms); now a few dozen sums.
--
-- Kept by the same refresh (src/dashboard/rollup.rs): after recomputing objectives'
-- progress, it recomputes the sums of the units and periods they were in and are in. An
-- objective deleted takes its progress row with it, so its mark names its unit and period.

CREATE TABLE dashboard_okr_groups (
    period_id     uuid NOT NULL,
    unit_id       uuid NOT NULL,
    objectives    integer NOT NULL,
    -- Added up; the mean is progress ÷ objectives.
    progress      numeric NOT NULL,
    key_results   integer NOT NULL,
    on_track      integer NOT NULL,
    at_risk       integer NOT NULL,
    off_track     integer NOT NULL,
    no_confidence integer NOT NULL,
    PRIMARY KEY (period_id, unit_id)
);
CREATE TABLE dashboard_okr_groups_up (LIKE dashboard_okr_groups);
ALTER TABLE dashboard_okr_groups_up ADD PRIMARY KEY (unit_id, period_id)
    INCLUDE (objectives, progress, key_results, on_track, at_risk, off_track, no_confidence);

-- Key results followed by check-ins of a unit's objectives of a period, by the day each was
-- last checked in: those before today minus the period's cadence are overdue.
CREATE TABLE dashboard_check_in_days (
    period_id   uuid NOT NULL,
    unit_id     uuid NOT NULL,
    day         date NOT NULL,
    key_results integer NOT NULL,
    PRIMARY KEY (period_id, unit_id, day)
);
CREATE TABLE dashboard_check_in_days_up (LIKE dashboard_check_in_days);
ALTER TABLE dashboard_check_in_days_up ADD PRIMARY KEY (unit_id, period_id, day) INCLUDE (key_results);

ALTER TABLE dashboard_okr_groups_up SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
ALTER TABLE dashboard_check_in_days_up SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);

CREATE OR REPLACE FUNCTION dashboard_mark_objective() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dashboard_marks (objective_id) VALUES (NEW.id);
    END IF;
    -- Its unit and period no longer count it.
    IF TG_OP = 'DELETE' THEN
        INSERT INTO dashboard_marks (unit_id, period_id, objective_id) VALUES (OLD.org_unit_id, OLD.period_id, OLD.id);
    END IF;
    -- The objective it was cascaded from rolls up one child fewer.
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.parent_key_result_id IS NOT NULL THEN
        INSERT INTO dashboard_marks (objective_id)
        SELECT objective_id FROM key_results WHERE id = OLD.parent_key_result_id;
    END IF;
    RETURN NULL;
END $$;

-- The objectives' progress there is, summed; the units' sums at the next refresh (a mark
-- naming nothing rebuilds every unit's).
INSERT INTO dashboard_okr_groups
SELECT period_id, org_unit_id, count(*), sum(progress), sum(key_results), sum(on_track), sum(at_risk),
       sum(off_track), sum(no_confidence)
  FROM objective_progress GROUP BY period_id, org_unit_id;
INSERT INTO dashboard_check_in_days
SELECT p.period_id, p.org_unit_id, d.day, count(*)
  FROM objective_progress p CROSS JOIN LATERAL unnest(p.check_ins_since) AS d (day)
 GROUP BY 1, 2, 3;
INSERT INTO dashboard_marks DEFAULT VALUES;
