-- Personal API tokens: created by a person at /account, shown once, stored only as their
-- SHA-256; read-only or read-write; optionally expiring; revocable; last use recorded.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    token_hash   bytea NOT NULL UNIQUE,
    read_only    boolean NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_person_idx ON api_tokens (person_id, created_at DESC);
