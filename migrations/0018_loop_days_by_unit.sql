-- The dashboard reads a unit's loop days over a range of days: by unit first, so each unit
-- of the scope is one short range of this index (the primary key leads with the day, which
-- made a division's trend read every unit's days: 113 ms at 600 teams, 15 ms with this).
CREATE INDEX dashboard_loop_days_unit_idx ON dashboard_loop_days (unit_id, day);
