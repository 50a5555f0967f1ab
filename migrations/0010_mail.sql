-- One reminder digest per person per day: the row is claimed before the mail is sent, in
-- the same transaction that marks the notifications it carried.
CREATE TABLE email_digests (
    person_id     uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    sent_on       date NOT NULL,
    sent_at       timestamptz NOT NULL DEFAULT now(),
    notifications integer NOT NULL,
    PRIMARY KEY (person_id, sent_on)
);
CREATE INDEX notifications_unmailed_idx ON notifications (person_id) WHERE emailed_at IS NULL;
