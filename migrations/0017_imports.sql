-- Jira CSV imports: the uploaded file with its column and status mapping, then a job any
-- server may run (FOR UPDATE SKIP LOCKED with a lease; a server that dies mid-run leaves a
-- lease that expires, and another resumes from `rows_done`, since re-importing a row is
-- idempotent by its issue key). Each row's result is kept for the report.
CREATE TABLE import_jobs (
    id            uuid PRIMARY KEY,
    file_name     text NOT NULL,
    -- The file as uploaded, emptied once the import has ended (the report is in
    -- import_rows); exports leave it out.
    content       bytea NOT NULL,
    -- New epics go to this team unless a mapped column names another unit.
    team_id       uuid NOT NULL REFERENCES org_units (id),
    work_type     text NOT NULL CHECK (work_type IN ('feature', 'tech_debt', 'defect', 'risk')),
    -- "https://acme.atlassian.net/browse/": with the issue key, each epic's tracker link.
    link_base     text NOT NULL DEFAULT '',
    -- {"columns": {"key": 0, "title": 1, …}, "statuses": {"In Progress": "in_progress", …}}
    mapping       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'mapping' CHECK (status IN ('mapping', 'queued', 'running', 'done', 'failed')),
    total_rows    integer NOT NULL DEFAULT 0,
    rows_done     integer NOT NULL DEFAULT 0,
    created_count integer NOT NULL DEFAULT 0,
    updated_count integer NOT NULL DEFAULT 0,
    failed_count  integer NOT NULL DEFAULT 0,
    -- Runs that ended without finishing (a server died, the database went away).
    attempts      integer NOT NULL DEFAULT 0,
    failure       text NOT NULL DEFAULT '',
    leased_until  timestamptz,
    created_by    uuid REFERENCES people (id) ON DELETE SET NULL,
    client_addr   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz,
    version       integer NOT NULL DEFAULT 1
);
CREATE INDEX import_jobs_list_idx ON import_jobs (created_at DESC, id DESC);
CREATE INDEX import_jobs_due_idx ON import_jobs (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE import_rows (
    job_id     uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    -- The row's place among the file's rows (1 = the first after the header), and the
    -- line it starts on (quoted fields may span lines).
    row_number integer NOT NULL,
    line       integer NOT NULL,
    issue_key  text NOT NULL DEFAULT '',
    result     text NOT NULL CHECK (result IN ('created', 'updated', 'unchanged', 'failed')),
    epic_id    uuid REFERENCES epics (id) ON DELETE SET NULL,
    -- Why a row failed, or what was changed to import it (an owner not found, …).
    message    text NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, row_number)
);
