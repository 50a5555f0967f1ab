-- A measurement changes what a dashboard shows of a closed outcome (its actual value, the
-- latest measurement by its closing day) without changing any sum: it now also leaves a
-- mark naming the outcome's unit alone, which moves on that unit's dashboard version and
-- its ancestors' (0027) and recomputes nothing.

CREATE OR REPLACE FUNCTION dashboard_mark_measurement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_marks (objective_id)
    SELECT k.objective_id FROM key_results k
     WHERE k.source_outcome_id IN (OLD.outcome_id, NEW.outcome_id) AND k.progress_source = 'outcome';
    INSERT INTO dashboard_marks (unit_id)
    SELECT DISTINCT o.unit_id FROM outcomes o
     WHERE o.id IN (OLD.outcome_id, NEW.outcome_id) AND o.unit_id IS NOT NULL;
    RETURN NULL;
END $$;
