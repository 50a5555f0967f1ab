-- The team-level rollups (0012) summed for every unit over the teams beneath it (itself
-- included). A dashboard reads its scope's children's sums and its own work, a few dozen
-- rows, instead of every team's rows beneath it: the company's quarter was 19,000 epic
-- groups and 18,000 loop days, eight times over.
--
-- Kept by the same refresh as the team-level rows (src/dashboard/rollup.rs): after it
-- recomputes a team's rows it recomputes the sums of that team's ancestors for the same
-- periods or days. A unit moved in the tree changes whose sums hold what, so removing
-- links from the closure table leaves a mark naming nothing, which makes the next
-- refresh rebuild every sum.

-- Each with its team-level table's columns, the team being any unit.
CREATE TABLE dashboard_epic_groups_up (LIKE dashboard_epic_groups);
ALTER TABLE dashboard_epic_groups_up RENAME team_id TO unit_id;
ALTER TABLE dashboard_epic_groups_up ADD PRIMARY KEY (unit_id, period_id, work_type, label);

CREATE TABLE dashboard_flow_up (LIKE dashboard_flow);
ALTER TABLE dashboard_flow_up RENAME team_id TO unit_id;
ALTER TABLE dashboard_flow_up ADD PRIMARY KEY (unit_id, period_id, work_type, kind, days);

CREATE TABLE dashboard_loop_days_up (LIKE dashboard_loop_days);
ALTER TABLE dashboard_loop_days_up ADD PRIMARY KEY (unit_id, day, work_type);

CREATE FUNCTION dashboard_mark_tree_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_marks DEFAULT VALUES;
    RETURN NULL;
END $$;
CREATE TRIGGER org_unit_tree_mark AFTER DELETE ON org_unit_tree
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_tree_change();

-- The sums of the data already there.
INSERT INTO dashboard_marks DEFAULT VALUES;
