-- The organisation's (and the company's) loops queue walks open loops in date order. The
-- oldest open loops are mostly those of cancelled work, which never close: the walk read
-- thousands of them, each from the table, before finding the first overdue loop of live
-- work (76 ms for the company dashboard's overdue list at 200,000 epics). This index
-- holds open loops of live work only, with what the queue filters on.
CREATE INDEX outcomes_open_live_idx ON outcomes (measure_by, id) INCLUDE (unit_id, work_status)
    WHERE closed_at IS NULL AND work_status <> 'cancelled';
