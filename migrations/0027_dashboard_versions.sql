-- A version per unit's dashboard, so a server may keep a dashboard's figures between views
-- and recompute them only when something they show has changed (src/dashboard/cache.rs).
--
-- The refresh (src/dashboard/rollup.rs) already learns from the marks which units' work
-- changed: it sets the version of each of those units and of every unit above them to its
-- own transaction id, in the transaction that takes the marks (ids only grow, so a version
-- is never given twice). What the figures show but no unit's marks name (units' names and
-- places, periods, people's names, cost rates) leaves a mark standing for everything, and
-- the refresh then moves on the version of the nil unit, which every dashboard's figures
-- depend on.

CREATE TABLE dashboard_versions (
    -- A unit, or the nil uuid for everything.
    unit_id uuid PRIMARY KEY,
    version bigint NOT NULL
);

ALTER TABLE dashboard_marks ADD COLUMN everything boolean NOT NULL DEFAULT false;

CREATE FUNCTION dashboard_mark_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_marks (everything) VALUES (true);
    RETURN NULL;
END $$;

CREATE TRIGGER org_units_dashboard_versions AFTER INSERT OR UPDATE OR DELETE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_everything();
CREATE TRIGGER periods_dashboard_versions AFTER INSERT OR UPDATE OR DELETE ON periods
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_everything();
CREATE TRIGGER unit_cost_rates_dashboard_versions AFTER INSERT OR UPDATE OR DELETE ON unit_cost_rates
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_everything();
-- A person's name shows beside their loops and key results; whether they are active counts
-- towards coverage (marked per epic group since 0012) and is shown too.
CREATE TRIGGER people_dashboard_versions AFTER UPDATE ON people
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION dashboard_mark_everything();
