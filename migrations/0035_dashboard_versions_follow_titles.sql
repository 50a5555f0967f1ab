-- A work's title shows on the dashboards (the closed outcomes, the overdue loops) without
-- counting in any sum. An epic renamed left a mark only when it had a planned period (its
-- epic group), and an initiative renamed none, so a dashboard kept by a server went on
-- showing the old title. Renamed, a work now leaves a mark naming its unit alone, which
-- moves on that unit's dashboard version and its ancestors' (0027, 0028) and recomputes
-- nothing.

CREATE FUNCTION dashboard_mark_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'epics' THEN
        INSERT INTO dashboard_marks (unit_id) VALUES (NEW.team_id);
    ELSE
        INSERT INTO dashboard_marks (unit_id) VALUES (NEW.org_unit_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER epics_dashboard_title AFTER UPDATE OF title ON epics
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION dashboard_mark_title();
CREATE TRIGGER initiatives_dashboard_title AFTER UPDATE OF title ON initiatives
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION dashboard_mark_title();
