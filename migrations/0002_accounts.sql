-- Accounts and access: a person may have an account (a role and, once set, a password),
-- sessions, one-time links (invitations and password resets), sign-in throttling, and the
-- audit log.

-- NULL: no account. admin: everything; member: changes what belongs to their units and
-- what they own; viewer: reads everything, changes nothing.
ALTER TABLE people ADD COLUMN account_role text CHECK (account_role IN ('admin', 'member', 'viewer'));
-- Argon2id PHC string; NULL until the person sets a password through their invitation.
ALTER TABLE people ADD COLUMN password_hash text;

-- Signed-in sessions. The cookie holds a 256-bit random token; only its SHA-256 is stored,
-- so reading this table does not let anyone sign in. Expiry (idle and absolute) is checked
-- against the application's clock when a session is used.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    user_agent   text NOT NULL DEFAULT '',
    client_addr  text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person_idx ON sessions (person_id, last_seen_at DESC);

-- One-time links to set a password: invitations and admin-issued resets. Only the hash of
-- the token is stored; a new link of the same purpose replaces older unused ones.
CREATE TABLE account_tokens (
    token_hash  bytea PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_by  uuid REFERENCES people (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_tokens_person_idx ON account_tokens (person_id);

-- Failed sign-ins, counted per account and per client address over the last minute. In
-- PostgreSQL so the limit holds across several servers.
CREATE TABLE sign_in_failures (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    email       text NOT NULL,
    client_addr text NOT NULL
);
CREATE INDEX sign_in_failures_email_idx ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_addr_idx ON sign_in_failures (client_addr, at);

-- Append-only record of who did what: sign-ins, refusals, and every change to a record with
-- its values before and after.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    uuid REFERENCES people (id) ON DELETE SET NULL,
    action      text NOT NULL,
    entity_type text,
    entity_id   uuid,
    before      jsonb,
    after       jsonb,
    client_addr text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
