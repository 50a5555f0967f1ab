-- Pre-aggregated dashboard figures, so a company of 600 teams and 200,000 epics reads a few
-- thousand summary rows instead of every epic, outcome and key result.
--
-- How they stay correct under concurrent writes: every write that can change a figure
-- leaves a mark (triggers below, in the writer's own transaction, so a mark commits
-- exactly when its change does). Before reading, the dashboard (src/dashboard/rollup.rs)
-- takes an advisory lock, deletes the marks it can see and recomputes the groups they
-- name from the tables themselves, in later statements that see every change those marks
-- stand for. A change whose mark it did not see keeps its mark for the next refresh.

CREATE TABLE dashboard_marks (
    id           bigserial PRIMARY KEY,
    -- An epic group: a team's epics planned in a period.
    unit_id      uuid,
    period_id    uuid,
    -- A loop day: a unit's outcomes due (measure-by) or closed on a day.
    day          date,
    -- An objective whose progress or key results changed.
    objective_id uuid
);

-- A team's epics of one type planned in one period, whose values are counted in one label.
CREATE TABLE dashboard_epic_groups (
    period_id        uuid NOT NULL,
    team_id          uuid NOT NULL,
    work_type        text NOT NULL,
    label            text NOT NULL,
    -- Cancelled epics are counted in no column.
    epics            integer NOT NULL,
    covered          integer NOT NULL,
    aligned          integer NOT NULL,
    outcomes         integer NOT NULL,
    revised          integer NOT NULL,
    -- Delivered, measuring or closed.
    delivered        integer NOT NULL,
    valued           integer NOT NULL,
    anticipated      numeric,
    realised_epics   integer NOT NULL,
    realised         numeric,
    -- Delivered with an effort, and that effort (cost = effort × the team's rate, at read).
    with_effort      integer NOT NULL,
    effort           numeric,
    -- Realised value and effort over the delivered epics that have both: ROI's parts.
    roi_realised     numeric,
    roi_effort       numeric,
    PRIMARY KEY (period_id, team_id, work_type, label)
);

-- How many of a team's epics of a type planned in a period took so many whole days from
-- started to delivered (cycle) or from delivered to closed (realisation): percentiles are
-- read from these counts exactly.
CREATE TABLE dashboard_flow (
    period_id uuid NOT NULL,
    team_id   uuid NOT NULL,
    work_type text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('cycle', 'realisation')),
    days      integer NOT NULL,
    epics     integer NOT NULL,
    PRIMARY KEY (period_id, team_id, work_type, kind, days)
);

-- A unit's outcomes (of epics, or of initiatives as work type 'initiative') by day:
-- those due that day (measure-by) and how many of them are closed, and those closed that
-- day by verdict. Cancelled work is counted in no column.
CREATE TABLE dashboard_loop_days (
    day          date NOT NULL,
    unit_id      uuid NOT NULL,
    work_type    text NOT NULL,
    due          integer NOT NULL,
    due_closed   integer NOT NULL,
    closed       integer NOT NULL,
    achieved     integer NOT NULL,
    partially    integer NOT NULL,
    not_achieved integer NOT NULL,
    inconclusive integer NOT NULL,
    PRIMARY KEY (day, unit_id, work_type)
);

-- An objective's progress rolled up through its cascade, its key results by confidence,
-- and the days those followed by check-ins were last checked in (or set), in order:
-- whether one is overdue depends on today, so it is decided when read.
CREATE TABLE objective_progress (
    objective_id  uuid PRIMARY KEY REFERENCES objectives (id) ON DELETE CASCADE,
    period_id     uuid NOT NULL,
    org_unit_id   uuid NOT NULL,
    progress      numeric NOT NULL,
    check_ins_since date[] NOT NULL,
    key_results   integer NOT NULL,
    on_track      integer NOT NULL,
    at_risk       integer NOT NULL,
    off_track     integer NOT NULL,
    no_confidence integer NOT NULL
);
CREATE INDEX objective_progress_period_idx ON objective_progress (period_id, org_unit_id);

-- The marks.
CREATE FUNCTION dashboard_mark_outcome_loops(unit uuid, measure_by date, closed_on date) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dashboard_marks (unit_id, day)
    SELECT unit, d FROM (VALUES (measure_by), (closed_on)) AS v (d) WHERE unit IS NOT NULL AND d IS NOT NULL
$$;

CREATE FUNCTION dashboard_mark_epic() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END $$;
CREATE TRIGGER epics_dashboard AFTER INSERT OR UPDATE ON epics FOR EACH ROW EXECUTE FUNCTION dashboard_mark_epic();
-- Before, so its outcomes are still there to be found.
CREATE TRIGGER epics_dashboard_delete BEFORE DELETE ON epics FOR EACH ROW EXECUTE FUNCTION dashboard_mark_epic();

CREATE FUNCTION dashboard_mark_initiative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (OLD.org_unit_id, OLD.status) IS DISTINCT FROM (NEW.org_unit_id, NEW.status) THEN
        PERFORM dashboard_mark_outcome_loops(OLD.org_unit_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.initiative_id = OLD.id;
        IF TG_OP = 'UPDATE' AND NEW.org_unit_id <> OLD.org_unit_id THEN
            PERFORM dashboard_mark_outcome_loops(NEW.org_unit_id, o.measure_by, o.closed_on) FROM outcomes o WHERE o.initiative_id = NEW.id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER initiatives_dashboard AFTER UPDATE ON initiatives FOR EACH ROW EXECUTE FUNCTION dashboard_mark_initiative();
CREATE TRIGGER initiatives_dashboard_delete BEFORE DELETE ON initiatives FOR EACH ROW EXECUTE FUNCTION dashboard_mark_initiative();

-- An outcome's epic group, or nothing when the outcome belongs to an initiative.
CREATE FUNCTION dashboard_mark_outcome_epic(outcome uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO dashboard_marks (unit_id, period_id)
    SELECT e.team_id, e.period_id FROM outcomes o JOIN epics e ON e.id = o.epic_id
     WHERE o.id = outcome AND e.period_id IS NOT NULL
$$;

CREATE FUNCTION dashboard_mark_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec outcomes;
BEGIN
    FOREACH rec IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW] WHEN 'DELETE' THEN ARRAY[OLD] ELSE ARRAY[OLD, NEW] END LOOP
        INSERT INTO dashboard_marks (unit_id, period_id)
        SELECT team_id, period_id FROM epics WHERE id = rec.epic_id AND period_id IS NOT NULL;
        PERFORM dashboard_mark_outcome_loops(
            coalesce((SELECT team_id FROM epics WHERE id = rec.epic_id),
                     (SELECT org_unit_id FROM initiatives WHERE id = rec.initiative_id)),
            rec.measure_by, rec.closed_on);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER outcomes_dashboard AFTER INSERT OR UPDATE OR DELETE ON outcomes FOR EACH ROW EXECUTE FUNCTION dashboard_mark_outcome();

CREATE FUNCTION dashboard_mark_outcome_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_mark_outcome_epic(CASE TG_OP WHEN 'DELETE' THEN OLD.outcome_id ELSE NEW.outcome_id END);
    RETURN NULL;
END $$;
CREATE TRIGGER outcome_key_results_dashboard AFTER INSERT OR UPDATE OR DELETE ON outcome_key_results
    FOR EACH ROW EXECUTE FUNCTION dashboard_mark_outcome_link();
CREATE TRIGGER outcome_revisions_dashboard AFTER INSERT OR UPDATE OR DELETE ON outcome_revisions
    FOR EACH ROW EXECUTE FUNCTION dashboard_mark_outcome_link();

-- Coverage counts active owners only.
CREATE FUNCTION dashboard_mark_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.active IS DISTINCT FROM NEW.active THEN
        INSERT INTO dashboard_marks (unit_id, period_id)
        SELECT DISTINCT team_id, period_id FROM epics WHERE owner_id = NEW.id AND period_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER people_dashboard AFTER UPDATE ON people FOR EACH ROW EXECUTE FUNCTION dashboard_mark_person();

CREATE FUNCTION dashboard_mark_key_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO dashboard_marks (objective_id) VALUES (OLD.objective_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dashboard_marks (objective_id) VALUES (NEW.objective_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER key_results_dashboard AFTER INSERT OR UPDATE OR DELETE ON key_results
    FOR EACH ROW EXECUTE FUNCTION dashboard_mark_key_result();

CREATE FUNCTION dashboard_mark_objective() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dashboard_marks (objective_id) VALUES (NEW.id);
    END IF;
    -- The objective it was cascaded from rolls up one child fewer.
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.parent_key_result_id IS NOT NULL THEN
        INSERT INTO dashboard_marks (objective_id)
        SELECT objective_id FROM key_results WHERE id = OLD.parent_key_result_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER objectives_dashboard AFTER INSERT OR UPDATE OR DELETE ON objectives
    FOR EACH ROW EXECUTE FUNCTION dashboard_mark_objective();

-- A key result may follow an outcome's latest measurement.
CREATE FUNCTION dashboard_mark_measurement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_marks (objective_id)
    SELECT k.objective_id FROM key_results k
     WHERE k.source_outcome_id IN (OLD.outcome_id, NEW.outcome_id) AND k.progress_source = 'outcome';
    RETURN NULL;
END $$;
CREATE TRIGGER measurements_dashboard AFTER INSERT OR UPDATE OR DELETE ON measurements
    FOR EACH ROW EXECUTE FUNCTION dashboard_mark_measurement();

-- Everything that exists now is computed by the first refresh.
INSERT INTO dashboard_marks (unit_id, period_id)
SELECT DISTINCT team_id, period_id FROM epics WHERE period_id IS NOT NULL;
INSERT INTO dashboard_marks (unit_id, day)
SELECT DISTINCT coalesce(e.team_id, i.org_unit_id), d
  FROM outcomes o LEFT JOIN epics e ON e.id = o.epic_id LEFT JOIN initiatives i ON i.id = o.initiative_id,
       LATERAL (VALUES (o.measure_by), (o.closed_on)) AS v (d)
 WHERE d IS NOT NULL;
INSERT INTO dashboard_marks (objective_id) SELECT id FROM objectives;
