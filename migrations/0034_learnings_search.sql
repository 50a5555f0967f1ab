-- The learning log is searched in one text per closed outcome: its statement, metric and
-- learnings and the title of its work (epic or initiative), lowercased once when written
-- (src/loops/learnings.rs). Searched as four `ILIKE`s across three tables, each request
-- lowercased every text it read (a common word reads a few hundred outcomes newest first:
-- 1.7 ms, 0.7 with `LIKE` on the stored text) and was planned as three joined pages (0.9 ms).
-- One trigram index over it replaces the two kept for the learning log alone (learnings,
-- metric); the statement's stays for the epics list and the API.
--
-- The parts are joined with a unit separator (U+001F), which the search removes from what
-- is typed, so no word is found across two of them.

CREATE FUNCTION learning_search(statement text, metric text, learnings text, work_title text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(coalesce(statement, '') || E'\x1f' || coalesce(metric, '') || E'\x1f'
                 || coalesce(learnings, '') || E'\x1f' || coalesce(work_title, ''));

-- The title of an outcome's work.
CREATE FUNCTION work_title(epic uuid, initiative uuid) RETURNS text LANGUAGE sql STABLE
    RETURN coalesce((SELECT title FROM epics WHERE id = epic),
                    (SELECT title FROM initiatives WHERE id = initiative));

ALTER TABLE outcomes ADD COLUMN search text;

-- Set while the outcome is closed, NULL while open (the log lists closed outcomes only).
CREATE FUNCTION outcomes_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := CASE WHEN NEW.closed_at IS NOT NULL THEN
        learning_search(NEW.statement, NEW.metric, NEW.learnings, work_title(NEW.epic_id, NEW.initiative_id))
    END;
    RETURN NEW;
END $$;

-- Work inserted by the same statement (a WITH of two INSERTs) is not visible to a trigger
-- before the row (its unit is then NULL too, migrations/0020): its title is taken once the
-- statement ends.
CREATE FUNCTION outcomes_search_late() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outcomes
       SET search = learning_search(statement, metric, learnings, work_title(epic_id, initiative_id))
     WHERE id = NEW.id;
    RETURN NULL;
END $$;

-- A work's new title is found in its closed outcomes at once.
CREATE FUNCTION work_title_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'epics' THEN
        UPDATE outcomes SET search = learning_search(statement, metric, learnings, NEW.title)
         WHERE epic_id = NEW.id AND closed_at IS NOT NULL;
    ELSE
        UPDATE outcomes SET search = learning_search(statement, metric, learnings, NEW.title)
         WHERE initiative_id = NEW.id AND closed_at IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

-- The outcomes held now: written without marking every dashboard out of date (the text
-- shows on none).
ALTER TABLE outcomes DISABLE TRIGGER outcomes_dashboard;
UPDATE outcomes o
   SET search = learning_search(o.statement, o.metric, o.learnings, work_title(o.epic_id, o.initiative_id))
 WHERE o.closed_at IS NOT NULL;
ALTER TABLE outcomes ENABLE TRIGGER outcomes_dashboard;

CREATE TRIGGER outcomes_search BEFORE INSERT OR UPDATE OF statement, metric, learnings, closed_at, epic_id, initiative_id
    ON outcomes FOR EACH ROW EXECUTE FUNCTION outcomes_search();
CREATE TRIGGER outcomes_search_late AFTER INSERT ON outcomes FOR EACH ROW
    WHEN (NEW.closed_at IS NOT NULL AND NEW.unit_id IS NULL) EXECUTE FUNCTION outcomes_search_late();
CREATE TRIGGER epics_learning_search AFTER UPDATE OF title ON epics
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION work_title_search();
CREATE TRIGGER initiatives_learning_search AFTER UPDATE OF title ON initiatives
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION work_title_search();

CREATE INDEX outcomes_search_trgm_idx ON outcomes USING gin (search gin_trgm_ops)
    WHERE closed_at IS NOT NULL;
DROP INDEX IF EXISTS outcomes_learnings_trgm_idx;
DROP INDEX IF EXISTS outcomes_metric_trgm_idx;
