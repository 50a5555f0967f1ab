-- The dashboard reads the sums of a unit's children (0022) by unit and a range of days or
-- a period. Their rows lie wherever the refresh last wrote them, so reading the company's
-- quarter of loop days fetched one heap page per row (7,446 pages for 7,860 rows: 20 ms).
-- With the sums in the key's index, the same read is an index-only scan of the pages that
-- hold the unit's range.
ALTER TABLE dashboard_loop_days_up
    DROP CONSTRAINT dashboard_loop_days_up_pkey,
    ADD PRIMARY KEY (unit_id, day, work_type)
        INCLUDE (due, due_closed, closed, achieved, partially, not_achieved, inconclusive);

ALTER TABLE dashboard_flow_up
    DROP CONSTRAINT dashboard_flow_up_pkey,
    ADD PRIMARY KEY (unit_id, period_id, work_type, kind, days) INCLUDE (epics);

-- An index-only scan skips the heap only for pages vacuum has marked all-visible; the
-- refresh rewrites rows as work changes, so vacuum these tables after a few thousand
-- changes instead of a fifth of them.
ALTER TABLE dashboard_loop_days_up SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
ALTER TABLE dashboard_flow_up SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);

-- An objective has a check-in overdue when its key result checked in longest ago did so
-- before today minus the period's cadence: the first of its sorted days. The company's
-- overdue check-ins were found by testing all 40,000 objectives (14 ms); by this index
-- only those with one overdue are read.
CREATE INDEX objective_progress_first_due_idx ON objective_progress (period_id, (check_ins_since[1]));
