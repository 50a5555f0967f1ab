-- The triggers that mark the dashboards before an epic or an initiative is deleted (0012)
-- returned NULL, which from a BEFORE trigger skips the row: no epic or initiative could be
-- deleted ("DELETE 0", without an error). They now return the row. Found by the epic
-- page's test that a deleted epic is no longer shown (0036).

CREATE OR REPLACE FUNCTION dashboard_mark_epic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.period_id IS NOT NULL THEN
        INSERT INTO dashboard_marks (unit_id, period_id) VALUES (OLD.team_id, OLD.period_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.period_id IS NOT NULL THEN
        INSERT INTO dashboard_marks (unit_id, period_id) VALUES (NEW.team_id, NEW.period_id);
    END IF;
    -- Its loops move with its team, type and status (cancelled work counts nowhere).
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.team_id, OLD.work_type, OLD.status)
                                                  IS DISTINCT FROM (NEW.team_id, NEW.work_type, NEW.status)) THEN
        PERFORM dashboard_mark_outcome_loops(OLD.team_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.epic_id = OLD.id;
        IF TG_OP = 'UPDATE' AND NEW.team_id <> OLD.team_id THEN
            PERFORM dashboard_mark_outcome_loops(NEW.team_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.epic_id = NEW.id;
        END IF;
    END IF;
    -- Before a delete, the row to delete: NULL would skip it.
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dashboard_mark_initiative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (OLD.org_unit_id, OLD.status) IS DISTINCT FROM (NEW.org_unit_id, NEW.status) THEN
        PERFORM dashboard_mark_outcome_loops(OLD.org_unit_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.initiative_id = OLD.id;
        IF TG_OP = 'UPDATE' AND NEW.org_unit_id <> OLD.org_unit_id THEN
            PERFORM dashboard_mark_outcome_loops(NEW.org_unit_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.initiative_id = NEW.id;
        END IF;
    END IF;
    -- Before a delete, the row to delete: NULL would skip it.
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END $$;
