-- A server keeps each key result page's read (its objective, how it ended, its check-ins,
-- the outcomes serving it, its history and its objective's cascade) between views
-- (src/okrs/read.rs), as it keeps epics' (0036). The page shows everything cascaded beneath
-- its objective, so a change to an objective or to anything of its key results leaves a
-- mark naming that objective and every objective above it, in the same transaction; the
-- page compares how many marks its objective has, `names_version` and `choices_version`.
CREATE TABLE objective_marks (
    objective_id uuid NOT NULL,
    n bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (objective_id, n)
);

-- Marks `objective` and the objectives above it (objectives know their parent, 0025).
CREATE FUNCTION objective_marks_up(objective uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO objective_marks (objective_id)
    WITH RECURSIVE up (id, depth) AS (
        SELECT objective, 0 WHERE objective IS NOT NULL
        UNION
        SELECT o.parent_objective_id, u.depth + 1 FROM up u JOIN objectives o ON o.id = u.id
         WHERE o.parent_objective_id IS NOT NULL AND u.depth < 20)
    SELECT DISTINCT id FROM up
$$;

-- Marks the objectives of the key results that the outcomes `outcomes` serve.
CREATE FUNCTION objective_marks_served(outcomes uuid[]) RETURNS void LANGUAGE sql AS $$
    SELECT objective_marks_up(k.objective_id)
      FROM (SELECT DISTINCT k.objective_id FROM outcome_key_results l
              JOIN key_results k ON k.id = l.key_result_id WHERE l.outcome_id = ANY (outcomes)) k
$$;

CREATE FUNCTION objective_marks_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'objectives' THEN
        IF TG_OP <> 'DELETE' THEN
            PERFORM objective_marks_up(NEW.id);
        END IF;
        IF TG_OP <> 'INSERT' THEN
            -- Gone or moved: where it was.
            INSERT INTO objective_marks (objective_id) VALUES (OLD.id);
            PERFORM objective_marks_up(OLD.parent_objective_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'key_results' THEN
        PERFORM objective_marks_up(o) FROM (SELECT DISTINCT o FROM (VALUES (OLD.objective_id), (NEW.objective_id)) v(o)) v;
    ELSIF TG_TABLE_NAME IN ('check_ins', 'outcome_key_results') THEN
        PERFORM objective_marks_up(k.objective_id) FROM key_results k
          WHERE k.id IN (OLD.key_result_id, NEW.key_result_id);
    ELSIF TG_TABLE_NAME = 'audit_log' THEN
        PERFORM objective_marks_up(k.objective_id) FROM key_results k WHERE k.id = NEW.entity_id;
    ELSIF TG_TABLE_NAME = 'measurements' THEN
        -- Key results following an outcome take its latest measurement as their value.
        PERFORM objective_marks_up(k.objective_id) FROM key_results k
          WHERE k.source_outcome_id IN (OLD.outcome_id, NEW.outcome_id) AND k.progress_source = 'outcome';
    ELSIF TG_TABLE_NAME = 'outcomes' THEN
        PERFORM objective_marks_served(ARRAY[NEW.id]);
    ELSIF TG_TABLE_NAME = 'epics' THEN
        -- Its title is shown beside its outcomes on the pages of the key results they serve.
        PERFORM objective_marks_served(ARRAY(SELECT o.id FROM outcomes o WHERE o.epic_id = NEW.id));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER objectives_objective_marks AFTER INSERT OR UPDATE OR DELETE ON objectives
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER key_results_objective_marks AFTER INSERT OR UPDATE OR DELETE ON key_results
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER check_ins_objective_marks AFTER INSERT OR UPDATE OR DELETE ON check_ins
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER outcome_key_results_objective_marks AFTER INSERT OR UPDATE OR DELETE ON outcome_key_results
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER audit_log_objective_marks AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.entity_type = 'key_result') EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER measurements_objective_marks AFTER INSERT OR UPDATE OR DELETE ON measurements
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
-- A deleted outcome's links are deleted with it, and mark as they go.
CREATE TRIGGER outcomes_objective_marks AFTER UPDATE ON outcomes
    FOR EACH ROW EXECUTE FUNCTION objective_marks_add();
CREATE TRIGGER epics_objective_marks AFTER UPDATE OF title ON epics
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION objective_marks_add();

-- Emptied all at once, these tables leave no row's mark: everything kept is read again.
CREATE TRIGGER check_ins_truncated_names_version AFTER TRUNCATE ON check_ins
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER measurements_truncated_names_version AFTER TRUNCATE ON measurements
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
CREATE TRIGGER objective_marks_truncated_names_version AFTER TRUNCATE ON objective_marks
    FOR EACH STATEMENT EXECUTE FUNCTION names_version_move();
