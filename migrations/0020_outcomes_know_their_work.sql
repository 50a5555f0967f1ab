-- The loops queue lists a unit's open loops in date order. It learned each outcome's unit
-- and its work's status by joining the epic or initiative, so a division's queue read the
-- open loops of every unit in date order until it had found its own (8,500 rows and 80 ms
-- at 200,000 epics). Each outcome now carries both, kept by the triggers below, and a
-- partial index per unit holds what the queue filters and sorts on.

ALTER TABLE outcomes ADD COLUMN unit_id uuid, ADD COLUMN work_status text;

UPDATE outcomes o SET unit_id = e.team_id, work_status = e.status FROM epics e WHERE e.id = o.epic_id;
UPDATE outcomes o SET unit_id = i.org_unit_id, work_status = i.status FROM initiatives i WHERE i.id = o.initiative_id;

-- A new outcome, or one moved to other work, takes its work's unit and status. The work's
-- row is share-locked, so a concurrent change of its team or status waits for this
-- outcome to commit, and then passes to it (below).
CREATE FUNCTION outcomes_take_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epic_id IS NOT NULL THEN
        SELECT team_id, status INTO NEW.unit_id, NEW.work_status FROM epics WHERE id = NEW.epic_id FOR SHARE;
    ELSE
        SELECT org_unit_id, status INTO NEW.unit_id, NEW.work_status FROM initiatives WHERE id = NEW.initiative_id FOR SHARE;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER outcomes_work BEFORE INSERT OR UPDATE OF epic_id, initiative_id ON outcomes
    FOR EACH ROW EXECUTE FUNCTION outcomes_take_work();

-- Work inserted by the same statement (a WITH of two INSERTs) is not visible to a trigger
-- before the row; once the statement ends it is, and this takes it then. (So the columns
-- are NULL only within such a statement.)
CREATE FUNCTION outcomes_take_work_late() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outcomes o SET unit_id = w.unit_id, work_status = w.status
      FROM (SELECT team_id AS unit_id, status FROM epics WHERE id = NEW.epic_id
            UNION ALL
            SELECT org_unit_id, status FROM initiatives WHERE id = NEW.initiative_id) w
     WHERE o.id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER outcomes_work_late AFTER INSERT ON outcomes FOR EACH ROW
    WHEN (NEW.unit_id IS NULL) EXECUTE FUNCTION outcomes_take_work_late();

-- Work that changes team or status passes both to its outcomes.
CREATE FUNCTION work_pass_to_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'epics' THEN
        UPDATE outcomes SET unit_id = NEW.team_id, work_status = NEW.status WHERE epic_id = NEW.id;
    ELSE
        UPDATE outcomes SET unit_id = NEW.org_unit_id, work_status = NEW.status WHERE initiative_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER epics_outcomes AFTER UPDATE OF team_id, status ON epics FOR EACH ROW
    WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION work_pass_to_outcomes();

CREATE TRIGGER initiatives_outcomes AFTER UPDATE OF org_unit_id, status ON initiatives FOR EACH ROW
    WHEN (OLD.org_unit_id IS DISTINCT FROM NEW.org_unit_id OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION work_pass_to_outcomes();

-- A unit's open loops of live work, in date order, with what the queue filters on: a
-- division's queue reads its units' ranges of this index and nothing else until it has
-- picked its page.
CREATE INDEX outcomes_open_by_unit_idx ON outcomes (unit_id, measure_by, id) INCLUDE (work_status)
    WHERE closed_at IS NULL AND work_status <> 'cancelled';
