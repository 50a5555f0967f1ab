-- In-app notifications: reminders of loops falling due, checkpoints, key-result check-ins,
-- and loops closed for their stakeholders. One per person, kind, subject and day: however
-- many servers run the scheduler, nobody is reminded twice.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('loop_due_in_7_days', 'loop_due_today', 'loop_overdue', 'checkpoint',
                                              'check_in_due', 'loop_closed')),
    -- What it is about: an outcome or a key result.
    subject_id  uuid NOT NULL,
    due_on      date NOT NULL,
    title       text NOT NULL,
    href        text NOT NULL CHECK (href LIKE '/%'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    -- Set when the day's email digest included it.
    emailed_at  timestamptz,
    CONSTRAINT notifications_once UNIQUE (person_id, kind, subject_id, due_on)
);
CREATE INDEX notifications_unread_idx ON notifications (person_id, created_at DESC) WHERE read_at IS NULL;
CREATE INDEX notifications_person_idx ON notifications (person_id, created_at DESC);
