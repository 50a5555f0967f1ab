-- A server keeps each epic page's read (the epic, its outcomes, its history, its cost rate
-- and the key results it serves) between views (src/epics/read.rs), and reads it again only
-- when something it shows has changed. Whether anything has is one small statement: how
-- many marks the epic has, `names_version` and `choices_version` (0033).
--
-- A change to the epic or to what belongs to it (its outcomes, their checkpoints, their
-- links to key results, its history) leaves a mark naming the epic, in the same
-- transaction. Marks are only ever added, so their count grows with every change that
-- commits, in whatever order they commit; and adding one locks nothing another transaction
-- waits for (a version per epic, updated, would be locked behind an outcome's row by a
-- measurement and before it by a status change: a deadlock).
--
-- What the page shows of other records (the names of people, initiatives, key results and
-- objectives; cost rates) moves `names_version` on, as units and periods move
-- `choices_version` on. A restore moves `choices_version` past any version counted before
-- (src/db/backup.rs), so nothing kept survives it.
CREATE TABLE epic_marks (
    epic_id uuid NOT NULL,
    n bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (epic_id, n)
);

CREATE FUNCTION epic_marks_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'epics' THEN
        INSERT INTO epic_marks (epic_id) VALUES (coalesce(NEW.id, OLD.id));
    ELSIF TG_TABLE_NAME = 'outcomes' THEN
        INSERT INTO epic_marks (epic_id)
        SELECT DISTINCT e FROM (VALUES (OLD.epic_id), (NEW.epic_id)) v(e) WHERE e IS NOT NULL;
    ELSIF TG_TABLE_NAME = 'audit_log' THEN
        IF NEW.entity_type = 'epic' THEN
            INSERT INTO epic_marks (epic_id) VALUES (NEW.entity_id);
        ELSE
            INSERT INTO epic_marks (epic_id)
            SELECT o.epic_id FROM outcomes o WHERE o.id = NEW.entity_id AND o.epic_id IS NOT NULL;
        END IF;
    ELSE
        -- Checkpoints and links to key results: of an outcome.
        INSERT INTO epic_marks (epic_id)
        SELECT DISTINCT o.epic_id FROM outcomes o
         WHERE o.id IN (OLD.outcome_id, NEW.outcome_id) AND o.epic_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER epics_epic_marks AFTER INSERT OR UPDATE OR DELETE ON epics
    FOR EACH ROW EXECUTE FUNCTION epic_marks_add();
CREATE TRIGGER outcomes_epic_marks AFTER INSERT OR UPDATE OR DELETE ON outcomes
    FOR EACH ROW EXECUTE FUNCTION epic_marks_add();
CREATE TRIGGER outcome_checkpoints_epic_marks AFTER INSERT OR UPDATE OR DELETE ON outcome_checkpoints
    FOR EACH ROW EXECUTE FUNCTION epic_marks_add();
CREATE TRIGGER outcome_key_results_epic_marks AFTER INSERT OR UPDATE OR DELETE ON outcome_key_results
    FOR EACH ROW EXECUTE FUNCTION epic_marks_add();
CREATE TRIGGER audit_log_epic_marks AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.entity_type IN ('epic', 'outcome')) EXECUTE FUNCTION epic_marks_add();

CREATE TABLE names_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);

INSERT INTO names_version (version) VALUES (1);

CREATE FUNCTION names_version_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE names_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER people_names_version AFTER UPDATE OF name, email, active OR DELETE OR TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER initiatives_names_version AFTER UPDATE OF title OR DELETE OR TRUNCATE ON initiatives
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER key_results_names_version AFTER UPDATE OF title, objective_id OR DELETE OR TRUNCATE ON key_results
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER objectives_names_version AFTER UPDATE OF title, org_unit_id, period_id OR DELETE OR TRUNCATE ON objectives
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER unit_cost_rates_names_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit_cost_rates
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
-- Emptied all at once, these tables leave no row's mark: everything kept is read again.
CREATE TRIGGER epics_truncated_names_version AFTER TRUNCATE ON epics
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER outcomes_truncated_names_version AFTER TRUNCATE ON outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER outcome_checkpoints_truncated_names_version AFTER TRUNCATE ON outcome_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER outcome_key_results_truncated_names_version AFTER TRUNCATE ON outcome_key_results
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER audit_log_truncated_names_version AFTER TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER epic_marks_truncated_names_version AFTER TRUNCATE ON epic_marks
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
